// Placeholder while the page is written.
import { Layout } from '../components/Layout';
export function Users() { return <Layout title="Users"><p>Not written yet.</p></Layout>; }
export function UserNew() { return <Layout title="New user"><p>Not written yet.</p></Layout>; }
export function UserEdit(_p: { id: string }) { return <Layout title="User"><p>Not written yet.</p></Layout>; }
