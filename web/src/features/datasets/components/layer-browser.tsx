/**
 * Bronze / Silver / Gold / Quarantine: a table picker and a paged preview of the rows
 * (GET /api/datasets/{name}/rows). Layer, table and batch filter live in the URL.
 */
import { useState } from 'react';
import { useSearchParams } from 'react-router';

import { ErrorBox } from '@/components/error-box';
import { Empty } from '@/components/section';
import { Table, type Column } from '@/components/table';
import { Tabs } from '@/components/tabs';
import type { RowsParams } from '@/lib/query-keys';

import { useRows } from '../api/get-rows';
import type { ColumnSchema, Layer } from '../types';
import { RejectReasons } from './reject-reasons';

const LAYERS: { id: Layer; label: string }[] = [
  { id: 'bronze', label: 'Bronze' },
  { id: 'silver', label: 'Silver' },
  { id: 'gold', label: 'Gold' },
  { id: 'quarantine', label: 'Quarantine' },
];
const NUMERIC = /^(u?int|float|double|decimal|number)/i;
const REASONS = '_reject_reasons';

type Props = {
  dataset: string;
  batchId: string | null;
  /** Tables of the batch (Bronze, Silver, Quarantine). */
  tables: string[];
  /** Gold marts of the dataset. */
  marts: string[];
};

export function LayerBrowser({ dataset, batchId, tables, marts }: Props) {
  const [params, setParams] = useSearchParams();
  const layer = (LAYERS.find((l) => l.id === params.get('layer'))?.id ?? 'bronze') as Layer;
  const choices = layer === 'gold' ? marts : tables;
  const table = choices.includes(params.get('table') ?? '') ? (params.get('table') as string) : (choices[0] ?? '');
  const onlyBatch = layer === 'bronze' || params.get('only_batch') === '1';

  const update = (patch: Record<string, string | null>) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(patch)) {
          if (v === null) next.delete(k);
          else next.set(k, v);
        }
        return next;
      },
      { replace: true },
    );

  return (
    <div className="layer-browser">
      <Tabs
        label="Layers"
        tabs={LAYERS}
        selected={layer}
        onSelect={(id) => update({ layer: id, table: null })}
      />
      <div className="layer-toolbar">
        <div className="table-picker" role="group" aria-label="Table">
          {choices.map((t) => (
            <button
              key={t}
              type="button"
              className={`pick${t === table ? ' is-selected' : ''}`}
              aria-pressed={t === table}
              onClick={() => update({ table: t })}
            >
              {t}
            </button>
          ))}
        </div>
        {layer === 'silver' || layer === 'quarantine' ? (
          <label className="check">
            <input
              type="checkbox"
              checked={onlyBatch}
              disabled={!batchId}
              onChange={(e) => update({ only_batch: e.target.checked ? '1' : null })}
            />{' '}
            only batch <span className="mono">{batchId ?? '—'}</span>
          </label>
        ) : layer === 'bronze' ? (
          <span className="muted small">
            batch <span className="mono">{batchId ?? '—'}</span> as landed
          </span>
        ) : (
          <span className="muted small">marts over the current Silver of all batches</span>
        )}
      </div>
      {choices.length === 0 ? (
        <Empty>
          {layer === 'gold'
            ? 'No Gold marts: marts come from the spec, and this dataset has none.'
            : 'No tables in this batch.'}
        </Empty>
      ) : layer === 'bronze' && !batchId ? (
        <Empty>Select a batch to preview its Bronze rows.</Empty>
      ) : (
        <RowsPreview
          key={`${layer}/${table}/${onlyBatch ? batchId : ''}`}
          dataset={dataset}
          layer={layer}
          table={table}
          batchId={onlyBatch ? batchId : null}
        />
      )}
    </div>
  );
}

function RowsPreview({ dataset, layer, table, batchId }: { dataset: string; layer: Layer; table: string; batchId: string | null }) {
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(50);
  const params: RowsParams = { layer, table, batch_id: batchId, offset, limit };
  const rows = useRows(dataset, params);
  if (rows.isError) return <ErrorBox error={rows.error} title={`Could not read ${layer} ${table}`} onRetry={() => rows.refetch()} />;
  const page = rows.data;
  const columns: Column<Record<string, unknown>>[] = (page?.columns ?? []).map((c: ColumnSchema) => ({
    key: c.name,
    header: c.name,
    subheader: c.type,
    align: NUMERIC.test(c.type) ? 'right' : 'left',
    mono: true,
    render: c.name === REASONS ? (r) => <RejectReasons value={r[c.name]} /> : (r) => <Cell value={r[c.name]} />,
  }));
  return (
    <div className="rows-preview" data-testid={`rows-${layer}`}>
      <Table<Record<string, unknown>>
        label={`${layer} ${table}`}
        columns={columns.length ? columns : [{ key: '_', header: '' }]}
        rows={page?.rows ?? []}
        loading={rows.isFetching}
        empty={`No rows in ${layer} ${table}${batchId ? ` for batch ${batchId}` : ''}`}
        paging={{
          offset,
          limit,
          total: page?.total ?? 0,
          onChange: setOffset,
          onLimitChange: (l) => {
            setLimit(l);
            setOffset(0);
          },
        }}
      />
    </div>
  );
}

function Cell({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="null">null</span>;
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (text === '') return <span className="null">""</span>;
  return text.length > 60 ? <span title={text}>{text.slice(0, 57)}…</span> : <>{text}</>;
}
