import { Link, useParams } from 'react-router';

import { RunDetail } from '@/features/runs/components/run-detail';
import { useTitle } from '@/lib/use-title';

export function RunRoute() {
  const { id = '' } = useParams();
  useTitle(`Run ${id}`);
  return (
    <div className="page">
      <div className="crumbs">
        <Link to="/runs">Runs</Link> /
      </div>
      <RunDetail id={id} />
    </div>
  );
}
