import { Layout } from '../components/Layout';
export function DeviceTypes() {
  return <Layout title="DeviceTypes"><p>Not written yet.</p></Layout>;
}
