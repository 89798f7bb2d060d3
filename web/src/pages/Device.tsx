import { Layout } from '../components/Layout';
export function DevicePage(_p: { id: string; tab: string }) { return <Layout title="Device"><p>Not written yet.</p></Layout>; }
