// Placeholder while the page is written.
import { Layout } from '../components/Layout';
export function Provisioning(_p: Record<string, unknown>) {
  return <Layout title="Provisioning"><p>Not written yet.</p></Layout>;
}
