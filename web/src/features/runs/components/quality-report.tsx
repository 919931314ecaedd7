/**
 * The cleaning quality report of a generated batch: per defect kind, how many were
 * injected, rejected, repaired and missed, and the recall; false rejects by rule.
 */
import { Table } from '@/components/table';
import { formatNumber, formatPercent } from '@/lib/format';

import type { DefectScore, TableQuality } from '../types';

type Row = DefectScore & { table: string; kind: string; recall: number };

export function recall(s: DefectScore): number {
  return s.injected ? (s.rejected + s.repaired) / s.injected : 1;
}

function tone(r: number): string {
  return r >= 0.99 ? 'ok' : r >= 0.9 ? 'warn' : 'bad';
}

export function QualityReport({ tables }: { tables: Record<string, TableQuality> }) {
  const rows: Row[] = Object.entries(tables).flatMap(([table, q]) =>
    Object.entries(q.defects).map(([kind, s]) => ({ table, kind, ...s, recall: recall(s) })),
  );
  const totals = rows.reduce(
    (acc, r) => ({
      injected: acc.injected + r.injected,
      rejected: acc.rejected + r.rejected,
      repaired: acc.repaired + r.repaired,
      missed: acc.missed + r.missed,
    }),
    { injected: 0, rejected: 0, repaired: 0, missed: 0 },
  );
  const falseRejects = Object.entries(tables).filter(([, q]) => q.false_rejects > 0);
  return (
    <div className="stack">
      <Table<Row>
        label="Quality per defect kind"
        rows={rows}
        rowKey={(r) => `${r.table}/${r.kind}`}
        empty="No injected defects to score."
        columns={[
          { key: 'table', header: 'table', mono: true },
          { key: 'kind', header: 'defect kind', mono: true },
          { key: 'injected', header: 'injected', align: 'right', render: (r) => formatNumber(r.injected) },
          { key: 'rejected', header: 'rejected', align: 'right', render: (r) => formatNumber(r.rejected) },
          { key: 'repaired', header: 'repaired', align: 'right', render: (r) => formatNumber(r.repaired) },
          {
            key: 'missed',
            header: 'missed',
            align: 'right',
            render: (r) => <span className={r.missed ? 'text-bad' : undefined}>{formatNumber(r.missed)}</span>,
          },
          {
            key: 'recall',
            header: 'recall',
            align: 'right',
            render: (r) => (
              <span className={`recall recall-${tone(r.recall)}`}>
                <span className="recall-bar" style={{ width: `${Math.round(r.recall * 100)}%` }} />
                <span className="recall-num">{formatPercent(r.recall)}</span>
              </span>
            ),
          },
        ]}
      />
      {rows.length ? (
        <p className="quality-total">
          All kinds: {formatNumber(totals.injected)} injected · {formatNumber(totals.rejected)} rejected ·{' '}
          {formatNumber(totals.repaired)} repaired · {formatNumber(totals.missed)} missed · recall{' '}
          <b>{formatPercent(recall(totals))}</b>
        </p>
      ) : null}
      <div className="false-rejects">
        <h3>False rejects</h3>
        {falseRejects.length === 0 ? (
          <p className="muted">No clean row was rejected.</p>
        ) : (
          <ul>
            {falseRejects.map(([table, q]) => (
              <li key={table}>
                <span className="mono">{table}</span>: {formatNumber(q.false_rejects)} clean row
                {q.false_rejects === 1 ? '' : 's'} rejected{' '}
                <span className="chips">
                  {Object.entries(q.false_rejects_by_rule).map(([rule, n]) => (
                    <span key={rule} className="chip">
                      {rule} <b>{formatNumber(n)}</b>
                    </span>
                  ))}
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
