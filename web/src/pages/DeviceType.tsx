import { Layout } from '../components/Layout';
export function DeviceTypePage(_p: { id: string; tab: string; sub?: string }) { return <Layout title="Device type"><p>Not written yet.</p></Layout>; }
