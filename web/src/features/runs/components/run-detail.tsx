/** One run: its facts, timeline, ledger, violations, quality report, loads and error. */
import { Link } from 'react-router';

import { ErrorBox } from '@/components/error-box';
import { Empty, Facts, Loading, Section } from '@/components/section';
import { StatusBadge } from '@/components/status-badge';
import { Table } from '@/components/table';
import { formatNumber, formatTime } from '@/lib/format';

import { useRun } from '../api/get-run';
import { LedgerChart } from './ledger-chart';
import { LoadReport } from './load-report';
import { QualityReport } from './quality-report';
import { StageTimeline } from './stage-timeline';
import { ViolationsTable } from './violations-table';

export function RunDetail({ id }: { id: string }) {
  const run = useRun(id);
  if (run.isLoading) return <Loading label="Loading run…" />;
  if (run.isError) return <ErrorBox error={run.error} title={`Could not load run ${id}`} onRetry={() => run.refetch()} />;
  const r = run.data;
  if (!r) return null;
  const ledger = r.ledger;
  const marts = Object.entries(ledger?.marts ?? {});
  const stageSeconds = Object.keys(r.stage_seconds ?? {}).length ? r.stage_seconds : (ledger?.stage_seconds ?? {});
  return (
    <div className="stack-lg" data-testid="run-detail">
      <div className="run-head">
        <h1 className="page-title">
          Run <span className="mono">{r.id}</span>
        </h1>
        <StatusBadge status={r.status} stage={r.stage} />
      </div>
      <Facts
        items={[
          [
            'dataset',
            <Link className="mono" to={`/datasets/${encodeURIComponent(r.dataset)}?batch=${encodeURIComponent(r.batch_id)}`}>
              {r.dataset}
            </Link>,
          ],
          ['batch', <span className="mono">{r.batch_id}</span>],
          ['records', formatNumber(r.records)],
          ['route', `${r.route}-queue`],
          ['engine', r.engine],
          ['stage', <span className="mono">{r.stage ?? '—'}</span>],
          ['attempts', r.attempts],
          ['requested', <span className="mono">{formatTime(r.requested_at)}</span>],
          ['updated', <span className="mono">{formatTime(r.updated_at)}</span>],
          ...(ledger?.rules_version ? [['rules', <span className="mono">{ledger.rules_version}</span>] as [string, React.ReactNode]] : []),
        ]}
      />
      {r.error ? <ErrorBox error={new Error(r.error)} title={r.status === 'DEAD_LETTERED' ? 'Dead-lettered' : 'Error'} /> : null}

      <Section title="Stage timeline">
        {r.transitions?.length ? (
          <StageTimeline transitions={r.transitions} status={r.status} stageSeconds={stageSeconds} />
        ) : (
          <Empty>No transitions recorded.</Empty>
        )}
      </Section>

      {ledger ? (
        <>
          <Section title="Ledger">
            <div className="ledger-grid">
              <LedgerChart tables={ledger.tables} />
              <Table
                label="Ledger per table"
                rows={Object.entries(ledger.tables).map(([name, t]) => ({ name, ...t }))}
                rowKey={(t) => t.name}
                columns={[
                  { key: 'name', header: 'table', mono: true },
                  { key: 'bronze_in', header: 'bronze_in', align: 'right', render: (t) => formatNumber(t.bronze_in) },
                  { key: 'silver_out', header: 'silver_out', align: 'right', render: (t) => formatNumber(t.silver_out) },
                  { key: 'quarantined', header: 'quarantined', align: 'right', render: (t) => formatNumber(t.quarantined) },
                  {
                    key: 'duplicates_removed',
                    header: 'duplicates_removed',
                    align: 'right',
                    render: (t) => formatNumber(t.duplicates_removed),
                  },
                  {
                    key: 'cols',
                    header: 'schema drift',
                    render: (t) =>
                      [
                        ...(t.missing_columns ?? []).map((c) => `−${c}`),
                        ...(t.extra_columns ?? []).map((c) => `+${c}`),
                      ].join(' ') || <span className="muted">none</span>,
                  },
                ]}
              />
            </div>
            {marts.length ? (
              <div className="marts">
                <h3 className="subhead">Gold marts</h3>
                <span className="chips">
                  {marts.map(([name, n]) => (
                    <span key={name} className="chip">
                      <span className="mono">{name}</span> <b>{formatNumber(n)}</b> rows
                    </span>
                  ))}
                </span>
              </div>
            ) : null}
          </Section>
          <Section title="Violations per rule">
            <ViolationsTable tables={ledger.tables} />
          </Section>
          <Section title="Cleaning quality">
            {ledger.quality ? (
              <QualityReport tables={ledger.quality.tables} />
            ) : (
              <Empty>No ground truth: quality is scored for generated batches only.</Empty>
            )}
          </Section>
          <Section title="Destinations and reconciliation">
            {ledger.load ? (
              <LoadReport tables={ledger.load.tables} checks={ledger.load.checks} />
            ) : (
              <Empty>No destination was loaded.</Empty>
            )}
          </Section>
        </>
      ) : (
        <Section title="Ledger">
          <Empty>{r.status === 'SUCCEEDED' ? 'This run kept no ledger.' : 'The ledger appears when the run succeeds.'}</Empty>
        </Section>
      )}
    </div>
  );
}
