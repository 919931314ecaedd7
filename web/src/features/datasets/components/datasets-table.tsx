import { useNavigate } from 'react-router';
import { Link } from 'react-router';

import { ErrorBox } from '@/components/error-box';
import { Empty, Loading } from '@/components/section';
import { Table } from '@/components/table';
import { formatNumber, formatRelative, formatTime } from '@/lib/format';

import { useDatasets } from '../api/get-datasets';
import { sortBatches, type DatasetSummary } from '../types';

type Row = DatasetSummary & { records: number; latest: string | null; latestBatch: string | null };

export function DatasetsTable() {
  const datasets = useDatasets();
  const navigate = useNavigate();
  if (datasets.isLoading) return <Loading />;
  if (datasets.isError) return <ErrorBox error={datasets.error} title="Could not list datasets" onRetry={() => datasets.refetch()} />;
  const rows: Row[] = (datasets.data ?? []).map((d) => {
    const latest = sortBatches(d.batches)[0];
    return {
      ...d,
      records: d.batches.reduce((n, b) => n + b.records, 0),
      latest: latest?.created_at ?? null,
      latestBatch: latest?.batch_id ?? null,
    };
  });
  if (rows.length === 0) {
    return (
      <Empty>
        No datasets yet. <Link to="/generate">Generate one</Link> or upload files below.
      </Empty>
    );
  }
  return (
    <Table<Row>
      label="Datasets"
      rows={rows}
      rowKey={(r) => r.name}
      pageSize={50}
      onRowClick={(r) => navigate(`/datasets/${encodeURIComponent(r.name)}`)}
      columns={[
        {
          key: 'name',
          header: 'dataset',
          mono: true,
          render: (r) => (
            <Link to={`/datasets/${encodeURIComponent(r.name)}`} onClick={(e) => e.stopPropagation()}>
              {r.name}
            </Link>
          ),
        },
        { key: 'batches', header: 'batches', align: 'right', render: (r) => formatNumber(r.batches.length) },
        { key: 'records', header: 'records (Bronze)', align: 'right', render: (r) => formatNumber(r.records) },
        { key: 'latestBatch', header: 'latest batch', mono: true, render: (r) => r.latestBatch ?? '—' },
        {
          key: 'latest',
          header: 'landed',
          render: (r) => <span title={formatTime(r.latest)}>{formatRelative(r.latest)}</span>,
        },
      ]}
    />
  );
}
