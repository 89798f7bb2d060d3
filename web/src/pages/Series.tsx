// Placeholder while the page is written.
import { Layout } from '../components/Layout';
export function Series(_p: Record<string, unknown>) {
  return <Layout title="Series"><p>Not written yet.</p></Layout>;
}
