/** What POST /api/datasets/generate and POST /api/datasets/{d}/upload answer: a landed batch. */
import { Link } from 'react-router';

import { formatBytes, formatNumber } from '@/lib/format';

import { Table } from './table';

export type LandedTable = {
  records: number;
  bytes: number;
  format: string;
  defects: Record<string, number> | null;
  malformed: number;
};

export type LandedBatch = {
  dataset: string;
  batch_id: string;
  records: number;
  tables: Record<string, LandedTable>;
};

type Row = LandedTable & { table: string };

export function LandedBatchSummary({ batch, title = 'Batch landed in Bronze' }: { batch: LandedBatch; title?: string }) {
  const rows: Row[] = Object.entries(batch.tables).map(([table, t]) => ({ table, ...t }));
  return (
    <div className="result-box" data-testid="landed-batch">
      <div className="result-head">
        <strong>{title}</strong>
        <span>
          dataset <Link to={`/datasets/${encodeURIComponent(batch.dataset)}`} className="mono">{batch.dataset}</Link>
          {' · '}batch <span className="mono">{batch.batch_id}</span>
          {' · '}
          {formatNumber(batch.records)} records
        </span>
      </div>
      <Table<Row>
        label="Landed tables"
        rowKey={(r) => r.table}
        rows={rows}
        columns={[
          { key: 'table', header: 'table', mono: true },
          { key: 'records', header: 'records', align: 'right', render: (r) => formatNumber(r.records) },
          { key: 'bytes', header: 'size', align: 'right', render: (r) => formatBytes(r.bytes) },
          { key: 'format', header: 'format' },
          {
            key: 'defects',
            header: 'defects injected',
            render: (r) =>
              r.defects && Object.keys(r.defects).length ? (
                <span className="chips">
                  {Object.entries(r.defects).map(([k, n]) => (
                    <span key={k} className="chip">
                      {k} <b>{formatNumber(n)}</b>
                    </span>
                  ))}
                </span>
              ) : (
                <span className="muted">—</span>
              ),
          },
          { key: 'malformed', header: 'malformed', align: 'right', render: (r) => formatNumber(r.malformed ?? 0) },
        ]}
      />
      <div className="result-actions">
        <Link className="btn btn-primary" to={`/datasets/${encodeURIComponent(batch.dataset)}?batch=${encodeURIComponent(batch.batch_id)}`}>
          Open dataset
        </Link>
      </div>
    </div>
  );
}
