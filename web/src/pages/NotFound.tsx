import { Layout } from '../components/Layout';

export function NotFound() {
  return (
    <Layout title="Not found">
      <p>
        There is no such page. <a href="/">Home</a>
      </p>
    </Layout>
  );
}
