import { Layout } from '../components/Layout';
export function Devices() {
  return <Layout title="Devices"><p>Not written yet.</p></Layout>;
}
