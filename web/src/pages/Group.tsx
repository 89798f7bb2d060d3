// Placeholder while the page is written.
import { Layout } from '../components/Layout';
export function GroupPage(_p: Record<string, unknown>) {
  return <Layout title="Group"><p>Not written yet.</p></Layout>;
}
