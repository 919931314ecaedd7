/** Destinations loaded (rows per target) and the reconciliation checks against the lake. */
import { Pill } from '@/components/status-badge';
import { Table } from '@/components/table';
import { formatDuration, formatNumber } from '@/lib/format';

import type { LoadedTable, ReconciliationCheck } from '../types';

type Props = { tables: LoadedTable[]; checks: ReconciliationCheck[] };

export function LoadReport({ tables, checks }: Props) {
  const failed = checks.filter((c) => !c.ok).length;
  return (
    <div className="stack">
      <Table<LoadedTable>
        label="Destinations loaded"
        rows={tables}
        rowKey={(t) => `${t.destination}/${t.target}`}
        empty="Nothing was loaded."
        pageSize={20}
        columns={[
          { key: 'destination', header: 'destination', mono: true },
          { key: 'target', header: 'target', mono: true },
          { key: 'layer', header: 'layer' },
          { key: 'source', header: 'source', mono: true },
          { key: 'mode', header: 'mode' },
          { key: 'rows', header: 'rows', align: 'right', render: (t) => formatNumber(t.rows) },
          { key: 'method', header: 'method', render: (t) => t.method ?? '—' },
          { key: 'seconds', header: 'time', align: 'right', render: (t) => formatDuration(t.seconds ?? null) },
        ]}
      />
      <h3 className="subhead">
        Reconciliation{' '}
        {checks.length ? (
          failed ? <Pill tone="bad">{failed} failed</Pill> : <Pill tone="ok">all {checks.length} passed</Pill>
        ) : null}
      </h3>
      <Table<ReconciliationCheck>
        label="Reconciliation checks"
        rows={checks}
        rowKey={(c, i) => `${c.destination}/${c.target}/${c.check}/${i}`}
        empty="No checks ran."
        pageSize={20}
        rowClassName={(c) => (c.ok ? undefined : 'row-bad')}
        columns={[
          { key: 'destination', header: 'destination', mono: true },
          { key: 'target', header: 'target', mono: true },
          { key: 'check', header: 'check', mono: true },
          { key: 'expected', header: 'expected (lake)', align: 'right', mono: true, render: (c) => String(c.expected) },
          { key: 'actual', header: 'actual', align: 'right', mono: true, render: (c) => (c.actual === null ? '—' : String(c.actual)) },
          { key: 'ok', header: '', align: 'center', render: (c) => (c.ok ? <Pill tone="ok">ok</Pill> : <Pill tone="bad">mismatch</Pill>) },
        ]}
      />
    </div>
  );
}
