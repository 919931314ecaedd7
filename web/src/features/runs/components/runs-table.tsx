import { Link, useNavigate } from 'react-router';

import { ErrorBox } from '@/components/error-box';
import { StatusBadge } from '@/components/status-badge';
import { Table } from '@/components/table';
import { compareTime, formatNumber, formatRelative, formatTime } from '@/lib/format';
import type { RunsParams } from '@/lib/query-keys';

import { useRuns } from '../api/get-runs';
import type { Run } from '../types';

type Props = {
  params?: RunsParams;
  /** Fewer columns (on a dataset page). */
  compact?: boolean;
  pageSize?: number;
  empty?: string;
};

export function RunsTable({ params = {}, compact = false, pageSize = 25, empty = 'No runs yet: press Clean Data on a dataset.' }: Props) {
  const runs = useRuns(params);
  const navigate = useNavigate();
  if (runs.isError) return <ErrorBox error={runs.error} title="Could not list runs" onRetry={() => runs.refetch()} />;
  const all = [...(runs.data ?? [])].sort((a, b) => compareTime(b.requested_at, a.requested_at));
  return (
    <Table<Run>
      label="Runs"
      rows={all}
      rowKey={(r) => r.id}
      pageSize={pageSize}
      loading={runs.isLoading}
      empty={empty}
      onRowClick={(r) => navigate(`/runs/${encodeURIComponent(r.id)}`)}
      columns={[
        {
          key: 'id',
          header: 'run',
          mono: true,
          render: (r) => (
            <Link to={`/runs/${encodeURIComponent(r.id)}`} onClick={(e) => e.stopPropagation()}>
              {r.id}
            </Link>
          ),
        },
        ...(compact
          ? []
          : [
              {
                key: 'dataset',
                header: 'dataset',
                mono: true,
                render: (r: Run) => (
                  <Link to={`/datasets/${encodeURIComponent(r.dataset)}`} onClick={(e) => e.stopPropagation()}>
                    {r.dataset}
                  </Link>
                ),
              },
            ]),
        { key: 'batch_id', header: 'batch', mono: true },
        { key: 'status', header: 'status', render: (r) => <StatusBadge status={r.status} stage={r.stage} /> },
        { key: 'stage', header: 'stage', mono: true, render: (r) => r.stage ?? <span className="muted">—</span> },
        { key: 'records', header: 'records', align: 'right', render: (r) => formatNumber(r.records) },
        { key: 'route', header: 'route', render: (r) => `${r.route} · ${r.engine}` },
        ...(compact ? [] : [{ key: 'attempts', header: 'attempts', align: 'right' as const }]),
        {
          key: 'requested_at',
          header: 'requested',
          render: (r) => <span title={formatTime(r.requested_at)}>{formatRelative(r.requested_at)}</span>,
        },
        {
          key: 'updated_at',
          header: 'updated',
          render: (r) => <span title={formatTime(r.updated_at)}>{formatRelative(r.updated_at)}</span>,
        },
        {
          key: 'error',
          header: 'error',
          render: (r) =>
            r.error ? (
              <span className="text-bad truncate" title={r.error}>
                {r.error}
              </span>
            ) : (
              <span className="muted">—</span>
            ),
        },
      ]}
    />
  );
}
