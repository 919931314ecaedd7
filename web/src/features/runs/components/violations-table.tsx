/** Rows per broken rule, per table, with the rule's action. */
import { Pill } from '@/components/status-badge';
import { Table } from '@/components/table';
import { formatNumber, formatPercent } from '@/lib/format';

import type { TableLedger } from '../types';

type Row = { table: string; rule: string; rows: number; action: string; share: number };

const ACTION_TONE: Record<string, string> = { quarantine: 'warn', warn: 'info', fail: 'bad' };

export function ViolationsTable({ tables }: { tables: Record<string, TableLedger> }) {
  const rows: Row[] = Object.entries(tables)
    .flatMap(([table, t]) =>
      Object.entries(t.violations ?? {}).map(([rule, n]) => ({
        table,
        rule,
        rows: n,
        action: t.actions?.[rule] ?? 'quarantine',
        share: t.bronze_in ? n / t.bronze_in : 0,
      })),
    )
    .sort((a, b) => b.rows - a.rows || a.rule.localeCompare(b.rule));
  return (
    <Table<Row>
      label="Violations per rule"
      rows={rows}
      rowKey={(r) => `${r.table}/${r.rule}`}
      pageSize={15}
      empty="No rule was broken."
      columns={[
        { key: 'table', header: 'table', mono: true },
        { key: 'rule', header: 'rule', mono: true },
        { key: 'action', header: 'action', render: (r) => <Pill tone={ACTION_TONE[r.action] ?? 'neutral'}>{r.action}</Pill> },
        { key: 'rows', header: 'rows', align: 'right', render: (r) => formatNumber(r.rows) },
        { key: 'share', header: 'of bronze_in', align: 'right', render: (r) => formatPercent(r.share, 2) },
      ]}
    />
  );
}
