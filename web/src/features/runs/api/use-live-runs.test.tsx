import { act, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { queryKeys } from '@/lib/query-keys';
import { resetRunEventStream } from '@/lib/run-events';
import { setToken } from '@/lib/token';
import { FakeEventSource } from '@/testing/fake-event-source';
import { FakeHubConnection } from '@/testing/fake-hub-connection';
import { jsonResponse, renderWithProviders, testQueryClient } from '@/testing/test-utils';

import type { Run } from '../types';
import { useRun } from './get-run';
import { applyEvent, useLiveRuns } from './use-live-runs';

vi.mock('@microsoft/signalr', async () => (await import('@/testing/fake-hub-connection')).fakeSignalR);

function Live() {
  useLiveRuns();
  return <p>listening</p>;
}

const run: Run = {
  id: 'r1',
  dataset: 'shop',
  batch_id: 'b7',
  records: 1040,
  route: 'small',
  engine: 'polars',
  status: 'QUEUED',
  stage: null,
  requested_at: '2025-01-01T10:00:00Z',
  updated_at: '2025-01-01T10:00:00Z',
  attempts: 0,
  error: null,
};

function event(type: string, extra: Record<string, unknown> = {}) {
  return { type, run_id: 'r1', dataset: 'shop', batch_id: 'b7', at: '2025-01-01T10:00:05Z', message: '', data: {}, ...extra };
}

describe('useLiveRuns', () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal('EventSource', FakeEventSource);
    resetRunEventStream({ kind: 'sse' });
  });
  afterEach(() => {
    resetRunEventStream();
    vi.unstubAllGlobals();
  });

  it('opens one stream on /api/events and toasts "Cleaning complete" on run.succeeded', async () => {
    renderWithProviders(<Live />);
    expect(FakeEventSource.instances).toHaveLength(1);
    const source = FakeEventSource.latest();
    expect(source.url).toBe('/api/events');
    act(() => source.open());
    act(() =>
      source.emit(
        'run.succeeded',
        event('run.succeeded', {
          message: 'Cleaning complete',
          data: { ledger: { orders: { bronze_in: 10, silver_out: 8, quarantined: 1, duplicates_removed: 1 } } },
        }),
        12,
      ),
    );
    const toast = await screen.findByTestId('toast');
    expect(toast.textContent).toContain('Cleaning complete');
    expect(toast.textContent).toContain('shop / b7');
    expect(toast.textContent).toContain('8 rows to Silver, 1 quarantined');
    expect(screen.getByRole('link', { name: 'view run' }).getAttribute('href')).toBe('/runs/r1');
  });

  it('shows no toast for progress events, but patches the cached runs in place', async () => {
    const queryClient = testQueryClient();
    queryClient.setQueryData(queryKeys.runList({}), [run]);
    const fetchSpy = vi.fn();
    vi.stubGlobal('fetch', fetchSpy);
    renderWithProviders(<Live />, { queryClient });
    const source = FakeEventSource.latest();
    act(() => source.open());
    act(() => source.emit('run.stage', event('run.stage', { message: 'silver orders', data: { stage: 'silver orders' } }), 3));
    const [patched] = queryClient.getQueryData<Run[]>(queryKeys.runList({})) ?? [];
    expect(patched.status).toBe('RUNNING');
    expect(patched.stage).toBe('silver orders');
    expect(patched.updated_at).toBe('2025-01-01T10:00:05Z');
    expect(screen.queryByTestId('toast')).toBeNull();
    expect(fetchSpy).not.toHaveBeenCalled(); // patched, not refetched: no polling either
  });

  it('toasts a dead-lettered run as an error', async () => {
    renderWithProviders(<Live />);
    const source = FakeEventSource.latest();
    act(() => source.open());
    act(() => source.emit('run.dead_lettered', event('run.dead_lettered', { message: 'TerminalError: bad data' })));
    const toast = await screen.findByTestId('toast');
    expect(toast.className).toContain('toast-error');
    expect(toast.textContent).toContain('TerminalError: bad data');
  });

  it('passes the token as access_token, since EventSource sends no headers', () => {
    setToken('s3cret');
    renderWithProviders(<Live />);
    expect(FakeEventSource.latest().url).toBe('/api/events?access_token=s3cret');
  });
});

describe('useLiveRuns over SignalR', () => {
  beforeEach(() => {
    FakeEventSource.reset();
    FakeHubConnection.reset();
    vi.stubGlobal('EventSource', FakeEventSource);
    resetRunEventStream(); // the transport comes from GET /api/config
  });
  afterEach(() => {
    resetRunEventStream();
    vi.unstubAllGlobals();
  });

  it('asks /api/config, listens on the hub and toasts "Cleaning complete" the same way', async () => {
    const queryClient = testQueryClient();
    queryClient.setQueryData(queryKeys.runList({}), [run]);
    const fetchSpy = vi.fn(async (url: string) =>
      url === '/api/config'
        ? new Response(JSON.stringify({ cloud: 'azure', events: 'signalr' }), { status: 200 })
        : new Response('{}', { status: 200 }),
    );
    vi.stubGlobal('fetch', fetchSpy);
    renderWithProviders(<Live />, { queryClient });
    await waitFor(() => expect(FakeHubConnection.instances).toHaveLength(1));
    const hub = FakeHubConnection.latest();
    await waitFor(() => expect(hub.started).toBe(true));
    act(() => hub.accept());
    act(() => hub.emit('runEvent', event('run.stage', { message: 'silver orders', data: { stage: 'silver orders' } })));
    const [patched] = queryClient.getQueryData<Run[]>(queryKeys.runList({})) ?? [];
    expect([patched.status, patched.stage]).toEqual(['RUNNING', 'silver orders']);
    act(() =>
      hub.emit(
        'runEvent',
        event('run.succeeded', {
          message: 'Cleaning complete',
          data: { ledger: { orders: { bronze_in: 10, silver_out: 8, quarantined: 1, duplicates_removed: 1 } } },
        }),
      ),
    );
    const toast = await screen.findByTestId('toast');
    expect(toast.textContent).toContain('Cleaning complete');
    expect(toast.textContent).toContain('8 rows to Silver, 1 quarantined');
    expect(FakeEventSource.instances).toHaveLength(0);
    expect(fetchSpy.mock.calls.map(([url]) => url)).toContain('/api/config');
  });

  it('keeps to the EventSource when /api/config reports sse', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ events: 'sse' }), { status: 200 })));
    renderWithProviders(<Live />);
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const source = FakeEventSource.latest();
    act(() => source.open());
    act(() => source.emit('run.succeeded', event('run.succeeded', { message: 'Cleaning complete' }), 1));
    expect((await screen.findByTestId('toast')).textContent).toContain('Cleaning complete');
    expect(FakeHubConnection.instances).toHaveLength(0);
  });
});

/** The live runs and a run page open on r1: its detail is an active query. */
function LiveWithRun() {
  useLiveRuns();
  const { data } = useRun('r1');
  return <p>{data ? `run ${data.id}` : 'loading'}</p>;
}

function pipelineCompleted(runId: string) {
  return event('pipeline.completed', {
    run_id: runId,
    batch_id: runId ? 'b7' : '',
    at: '2025-01-01T11:00:00Z',
    message: 'Data Factory udo-small finished: Gold loaded (sales)',
    data: { pipeline: 'udo-small', trigger: runId ? 'manual' : 'schedule', marts: ['sales'] },
  });
}

type Transport = 'sse' | 'signalr';

/**
 * Render LiveWithRun over `transport` with a cached run list; `send` pushes a server event,
 * `detailFetches` counts GET /api/runs/r1 and `otherFetches` any other runs request.
 */
async function liveOver(transport: Transport) {
  const queryClient = testQueryClient();
  queryClient.setQueryData(queryKeys.runList({}), [run]);
  let detailFetches = 0;
  const other: string[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      if (url === '/api/config') return jsonResponse({ cloud: 'azure', events: transport });
      if (url === '/api/runs/r1') {
        detailFetches += 1;
        return jsonResponse({ ...run, transitions: [], stage_seconds: {}, ledger: null });
      }
      other.push(url);
      return jsonResponse({}, 404);
    }),
  );
  renderWithProviders(<LiveWithRun />, { queryClient });
  await screen.findByText('run r1');
  let send: (e: unknown) => void;
  if (transport === 'sse') {
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const source = FakeEventSource.latest();
    act(() => source.open());
    send = (e) => source.emit((e as { type: string }).type, e, 20);
  } else {
    await waitFor(() => expect(FakeHubConnection.instances).toHaveLength(1));
    const hub = FakeHubConnection.latest();
    await waitFor(() => expect(hub.started).toBe(true));
    act(() => hub.accept());
    send = (e) => hub.emit('runEvent', e);
  }
  return { queryClient, send: (e: unknown) => act(() => send(e)), detailFetches: () => detailFetches, otherFetches: () => other };
}

describe.each<Transport>(['sse', 'signalr'])('useLiveRuns and pipeline.completed over %s', (transport) => {
  beforeEach(() => {
    FakeEventSource.reset();
    FakeHubConnection.reset();
    vi.stubGlobal('EventSource', FakeEventSource);
    resetRunEventStream(); // the transport comes from GET /api/config
  });
  afterEach(() => {
    resetRunEventStream();
    vi.unstubAllGlobals();
  });

  it("refetches the named run's detail, leaves the lists alone and shows no toast", async () => {
    const live = await liveOver(transport);
    expect(live.detailFetches()).toBe(1);
    const list = live.queryClient.getQueryData<Run[]>(queryKeys.runList({}));
    live.send(pipelineCompleted('r1'));
    await waitFor(() => expect(live.detailFetches()).toBe(2)); // its history has a new entry
    expect(live.queryClient.getQueryData(queryKeys.runList({}))).toBe(list); // not patched: same status
    expect(live.queryClient.getQueryState(queryKeys.runList({}))?.isInvalidated).toBe(false);
    expect(live.otherFetches()).toEqual([]);
    expect(screen.queryByTestId('toast')).toBeNull(); // never "Cleaning complete"
  });

  it('touches no runs query for a scheduled pipeline run (empty run_id)', async () => {
    const live = await liveOver(transport);
    const list = live.queryClient.getQueryData<Run[]>(queryKeys.runList({}));
    live.send(pipelineCompleted(''));
    expect(live.queryClient.getQueryData(queryKeys.runList({}))).toBe(list);
    expect(live.queryClient.getQueryState(queryKeys.runList({}))?.isInvalidated).toBe(false);
    expect(live.queryClient.getQueryState(queryKeys.run('r1'))?.isInvalidated).toBe(false);
    expect(live.queryClient.getQueryData(queryKeys.run(''))).toBeUndefined();
    expect(screen.queryByTestId('toast')).toBeNull();
    live.send(event('run.stage', { data: { stage: 'silver orders' } })); // the stream goes on
    const [patched] = live.queryClient.getQueryData<Run[]>(queryKeys.runList({})) ?? [];
    expect([patched.stage, patched.updated_at]).toEqual(['silver orders', '2025-01-01T10:00:05Z']);
    await waitFor(() => expect(live.detailFetches()).toBe(2)); // by the run.stage, not the pipeline
    expect(live.otherFetches()).toEqual([]);
  });
});

describe('applyEvent', () => {
  it('follows the run through its life', () => {
    let r = applyEvent(run, event('run.started', { data: { attempt: 1 } }) as never);
    expect([r.status, r.stage, r.attempts]).toEqual(['RUNNING', 'starting', 1]);
    r = applyEvent(r, event('run.failed', { message: 'OSError: disk' }) as never);
    expect([r.status, r.error]).toEqual(['FAILED', 'OSError: disk']);
    r = applyEvent(r, event('run.succeeded', { message: 'Cleaning complete' }) as never);
    expect([r.status, r.stage, r.error]).toEqual(['SUCCEEDED', 'done', null]);
  });
});
