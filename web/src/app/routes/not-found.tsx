import { Link } from 'react-router';

import { Empty } from '@/components/section';
import { useTitle } from '@/lib/use-title';

export function NotFoundRoute() {
  useTitle('Not found');
  return (
    <div className="page">
      <Empty>
        No such page. <Link to="/datasets">Go to datasets</Link>
      </Empty>
    </div>
  );
}
