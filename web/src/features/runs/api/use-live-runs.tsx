/**
 * Keeps every runs query current from the event stream (GET /api/events): a known run is
 * patched in place, an unknown one makes the lists refetch once, the run's detail is
 * refetched. `run.succeeded` shows the "Cleaning complete" toast; failures show too.
 * `pipeline.completed` (Data Factory loaded Gold) changes no run's status: it only
 * refetches the detail of the run it names (its history has a new entry); a scheduled
 * pipeline run names none (`run_id` ''), and touches no runs query at all.
 */
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';

import { useToast } from '@/components/toast';
import { formatNumber } from '@/lib/format';
import { queryKeys, type RunsParams } from '@/lib/query-keys';
import { useRunEvents, type RunEvent } from '@/lib/run-events';

import type { Run, RunStatus } from '../types';

const STATUS: Record<string, RunStatus> = {
  'run.requested': 'REQUESTED',
  'run.queued': 'QUEUED',
  'run.started': 'RUNNING',
  'run.stage': 'RUNNING',
  'run.succeeded': 'SUCCEEDED',
  'run.failed': 'FAILED',
  'run.dead_lettered': 'DEAD_LETTERED',
};

/** The run as the event says it is now. */
export function applyEvent(run: Run, event: RunEvent): Run {
  const status = STATUS[event.type] ?? run.status;
  const stage =
    event.type === 'run.stage'
      ? String(event.data.stage ?? event.message ?? run.stage)
      : event.type === 'run.started'
        ? 'starting'
        : event.type === 'run.succeeded'
          ? 'done'
          : run.stage;
  const attempts = typeof event.data.attempt === 'number' ? event.data.attempt : run.attempts;
  const error =
    event.type === 'run.failed' || event.type === 'run.dead_lettered'
      ? event.message || run.error
      : event.type === 'run.succeeded'
        ? null
        : run.error;
  return { ...run, status, stage, attempts, error, updated_at: event.at ?? run.updated_at };
}

/** Patch the cached lists; true when every list that should show the run had it. */
export function patchRunLists(queryClient: QueryClient, event: RunEvent): boolean {
  let complete = true;
  for (const [key, runs] of queryClient.getQueriesData<Run[]>({ queryKey: queryKeys.runLists })) {
    if (!runs) continue;
    const params = (key[2] ?? {}) as RunsParams;
    if (params.dataset && params.dataset !== event.dataset) continue;
    const index = runs.findIndex((r) => r.id === event.run_id);
    if (index < 0 || params.status) {
      complete = false;
      continue;
    }
    const next = [...runs];
    next[index] = applyEvent(runs[index], event);
    queryClient.setQueryData(key, next);
  }
  return complete;
}

function RunToastBody({ event, extra }: { event: RunEvent; extra?: string }) {
  return (
    <span>
      <span className="mono">
        {event.dataset} / {event.batch_id}
      </span>
      {extra ? ` · ${extra}` : ''} · <Link to={`/runs/${encodeURIComponent(event.run_id)}`}>view run</Link>
    </span>
  );
}

function succeededSummary(event: RunEvent): string | undefined {
  const summary = event.data.ledger as Record<string, { silver_out?: number; quarantined?: number }> | undefined;
  if (!summary || typeof summary !== 'object') return undefined;
  let silver = 0;
  let quarantined = 0;
  for (const t of Object.values(summary)) {
    silver += t.silver_out ?? 0;
    quarantined += t.quarantined ?? 0;
  }
  return `${formatNumber(silver)} rows to Silver, ${formatNumber(quarantined)} quarantined`;
}

export function useLiveRuns(): void {
  const queryClient = useQueryClient();
  const toast = useToast();
  useRunEvents(
    (event) => {
      if (event.type === 'pipeline.completed') {
        if (event.run_id) void queryClient.invalidateQueries({ queryKey: queryKeys.run(event.run_id) });
        return;
      }
      if (!patchRunLists(queryClient, event)) {
        void queryClient.invalidateQueries({ queryKey: queryKeys.runLists });
      }
      void queryClient.invalidateQueries({ queryKey: queryKeys.run(event.run_id) });
      if (event.type === 'run.succeeded') {
        toast.show({
          tone: 'success',
          title: event.message || 'Cleaning complete',
          body: <RunToastBody event={event} extra={succeededSummary(event)} />,
        });
      } else if (event.type === 'run.dead_lettered') {
        toast.show({ tone: 'error', title: 'Run dead-lettered', body: <RunToastBody event={event} extra={event.message} /> });
      } else if (event.type === 'run.failed') {
        toast.show({
          tone: 'error',
          title: 'Run failed, will retry',
          duration: 15_000,
          body: <RunToastBody event={event} extra={event.message} />,
        });
      }
    },
    () => void queryClient.invalidateQueries({ queryKey: queryKeys.runs }),
  );
}
