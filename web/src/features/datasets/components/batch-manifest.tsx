/** The manifest of one batch: its tables as landed in Bronze. */
import { ErrorBox } from '@/components/error-box';
import { Facts, Loading } from '@/components/section';
import { Table } from '@/components/table';
import { formatBytes, formatNumber, formatTime } from '@/lib/format';

import { useManifest } from '../api/get-manifest';
import type { TableManifest } from '../types';

type Row = TableManifest & { table: string };

export function BatchManifest({ dataset, batchId }: { dataset: string; batchId: string }) {
  const manifest = useManifest(dataset, batchId);
  if (manifest.isLoading) return <Loading />;
  if (manifest.isError) return <ErrorBox error={manifest.error} title="Could not read the manifest" />;
  const m = manifest.data;
  if (!m) return null;
  const rows: Row[] = Object.entries(m.tables).map(([table, t]) => ({ table, ...t }));
  const dirt = m.dirt ? Object.entries(m.dirt).filter(([, r]) => r > 0) : [];
  return (
    <div className="stack">
      <Facts
        items={[
          ['batch', <span className="mono">{m.batch_id}</span>],
          ['origin', m.origin],
          ['landed', <span className="mono">{formatTime(m.created_at)}</span>],
          ['spec', m.spec_name ? <span className="mono">{m.spec_name}</span> : '—'],
          ['seed', m.seed ?? '—'],
        ]}
      />
      {m.dirt ? (
        <div className="dirt-rates">
          <span className="fact-label">dirt</span>
          {dirt.length ? (
            <span className="chips">
              {dirt.map(([k, r]) => (
                <span key={k} className="chip">
                  {k} <b>{(r * 100).toFixed(1)}%</b>
                </span>
              ))}
            </span>
          ) : (
            <span className="muted">none</span>
          )}
        </div>
      ) : null}
      <Table<Row>
        label="Batch tables"
        rows={rows}
        rowKey={(r) => r.table}
        columns={[
          { key: 'table', header: 'table', mono: true },
          { key: 'file', header: 'file', mono: true, render: (r) => r.source_name ?? r.file },
          { key: 'format', header: 'format' },
          { key: 'records', header: 'records', align: 'right', render: (r) => formatNumber(r.records) },
          { key: 'bytes', header: 'size', align: 'right', render: (r) => formatBytes(r.bytes) },
          { key: 'columns', header: 'columns', align: 'right', render: (r) => r.columns.length },
          {
            key: 'defects',
            header: 'defects injected',
            align: 'right',
            render: (r) => {
              const counts = r.defects?.counts ?? {};
              const n = Object.values(counts).reduce((a, b) => a + b, 0);
              return r.defects ? (
                <span title={Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join('\n')}>{formatNumber(n)}</span>
              ) : (
                <span className="muted">—</span>
              );
            },
          },
          {
            key: 'malformed',
            header: 'malformed',
            align: 'right',
            render: (r) => formatNumber(r.malformed?.count ?? 0),
          },
        ]}
      />
    </div>
  );
}
