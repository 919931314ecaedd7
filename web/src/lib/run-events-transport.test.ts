import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FakeEventSource } from '@/testing/fake-event-source';
import { FakeHubConnection } from '@/testing/fake-hub-connection';

import { fetchEventsKind, RunEventStream, type EventsKind, type RunEvent } from './run-events';
import { setToken } from './token';

vi.mock('@microsoft/signalr', async () => (await import('@/testing/fake-hub-connection')).fakeSignalR);

const succeeded = {
  type: 'run.succeeded',
  run_id: 'r1',
  dataset: 'shop',
  batch_id: 'b7',
  at: '2025-01-01T10:00:05Z',
  message: 'Cleaning complete',
  data: { ledger: {} },
};

function configResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

type Answer = EventsKind | Error | Promise<EventsKind>;

/**
 * A stream whose transport comes from fake /api/config answers: one per request, in
 * order, the last one repeated (an Error is a failed request).
 */
function streamAsking(...answers: Answer[]): { stream: RunEventStream; asked: () => number } {
  let asked = 0;
  const stream = new RunEventStream({
    resolveKind: () => {
      const answer = answers[Math.min(asked, answers.length - 1)];
      asked += 1;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  });
  return { stream, asked: () => asked };
}

describe('fetchEventsKind', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('reads `events` from GET /api/config, with the bearer token', async () => {
    setToken('s3cret');
    const fetchSpy = vi.fn(async () => configResponse({ cloud: 'azure', events: 'signalr' }));
    vi.stubGlobal('fetch', fetchSpy);
    await expect(fetchEventsKind()).resolves.toBe('signalr');
    const [url, init] = fetchSpy.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/config');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer s3cret');
  });

  it('means SSE for "sse" and for an API that does not say', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => configResponse({ events: 'sse' })));
    await expect(fetchEventsKind()).resolves.toBe('sse');
    vi.stubGlobal('fetch', vi.fn(async () => configResponse({ cloud: 'local' })));
    await expect(fetchEventsKind()).resolves.toBe('sse');
  });

  it('fails like any API call when /api/config is refused', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => configResponse({ error: { code: 'unauthorized', message: 'no' } }, 401)));
    await expect(fetchEventsKind()).rejects.toMatchObject({ status: 401 });
  });
});

describe('RunEventStream transport choice', () => {
  beforeEach(() => {
    FakeEventSource.reset();
    FakeHubConnection.reset();
    vi.stubGlobal('EventSource', FakeEventSource);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('uses a SignalR hub on /api when the API reports signalr, never an EventSource', async () => {
    setToken('api-token');
    const { stream } = streamAsking('signalr');
    const seen: RunEvent[] = [];
    stream.subscribe((e) => seen.push(e));
    expect(stream.getStatus()).toBe('connecting');
    await vi.waitFor(() => expect(FakeHubConnection.instances).toHaveLength(1));
    const hub = FakeHubConnection.latest();
    expect(hub.url).toBe('/api'); // the client posts to /api/negotiate
    expect(hub.automaticReconnect).toBe(true);
    expect(hub.options.accessTokenFactory?.()).toBe('api-token'); // negotiate is behind the token
    expect(hub.options.withCredentials).toBe(false); // no cookies: CORS without credentials
    await vi.waitFor(() => expect(hub.started).toBe(true));
    hub.accept();
    await vi.waitFor(() => expect(stream.getStatus()).toBe('open'));
    expect(stream.getKind()).toBe('signalr');
    hub.emit('runEvent', succeeded);
    hub.emit('runEvent', { not: 'an event' }); // ignored
    expect(seen).toEqual([{ id: undefined, ...succeeded }]);
    expect(FakeEventSource.instances).toHaveLength(0);
    stream.close();
    expect(hub.stopped).toBe(true);
    expect(stream.getStatus()).toBe('idle');
  });

  it('uses an EventSource on /api/events when the API reports sse', async () => {
    const { stream } = streamAsking('sse');
    stream.subscribe(() => {});
    await vi.waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    expect(FakeEventSource.latest().url).toBe('/api/events');
    expect(FakeHubConnection.instances).toHaveLength(0);
    stream.close();
  });

  it('falls back to SSE when /api/config cannot be read, and reopens SSE while it asks again', async () => {
    vi.useFakeTimers();
    const { stream, asked } = streamAsking(new Error('401'));
    stream.subscribe(() => {});
    await vi.waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    expect(stream.getKind()).toBeNull();
    FakeEventSource.latest().fail(true); // refused, e.g. no token yet
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked()).toBe(2); // the config retry; reopening the stream does not ask on top
    expect(FakeEventSource.instances).toHaveLength(2);
    stream.close();
  });

  it('keeps asking /api/config with a back-off while on SSE, and moves to the hub when it says signalr', async () => {
    vi.useFakeTimers();
    const { stream, asked } = streamAsking(new Error('502'), new Error('502'), 'signalr');
    const seen: RunEvent[] = [];
    const resync = vi.fn();
    stream.subscribe((e) => seen.push(e));
    stream.onResync(resync);
    await vi.advanceTimersByTimeAsync(0);
    const source = FakeEventSource.latest();
    source.open(); // a healthy stream: it never closes, so no reconnection would ask again
    expect(stream.getStatus()).toBe('open');
    expect(stream.getKind()).toBeNull();
    await vi.advanceTimersByTimeAsync(999);
    expect(asked()).toBe(1);
    await vi.advanceTimersByTimeAsync(1); // 1 s
    expect(asked()).toBe(2);
    expect(source.readyState).toBe(FakeEventSource.OPEN); // still failing: SSE goes on
    await vi.advanceTimersByTimeAsync(1999);
    expect(asked()).toBe(2);
    await vi.advanceTimersByTimeAsync(1); // 2 s more
    expect(asked()).toBe(3);
    expect(source.readyState).toBe(FakeEventSource.CLOSED);
    expect(stream.getKind()).toBe('signalr');
    await vi.waitFor(() => expect(FakeHubConnection.latest().started).toBe(true));
    FakeHubConnection.latest().accept();
    await vi.waitFor(() => expect(stream.getStatus()).toBe('open'));
    expect(resync).toHaveBeenCalledTimes(1); // events sent during the switch are refetched
    FakeHubConnection.latest().emit('runEvent', succeeded);
    expect(seen).toEqual([{ id: undefined, ...succeeded }]);
    expect(vi.getTimerCount()).toBe(0); // answered: no more asking
    await vi.advanceTimersByTimeAsync(120_000);
    expect(asked()).toBe(3);
    expect([FakeEventSource.instances.length, FakeHubConnection.instances.length]).toEqual([1, 1]);
    stream.close();
  });

  it('keeps the EventSource when the late answer is sse', async () => {
    vi.useFakeTimers();
    const { stream, asked } = streamAsking(new Error('timeout'), 'sse');
    stream.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    FakeEventSource.latest().open();
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked()).toBe(2);
    expect(stream.getKind()).toBe('sse');
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(FakeEventSource.latest().readyState).toBe(FakeEventSource.OPEN);
    expect(vi.getTimerCount()).toBe(0);
    expect(FakeHubConnection.instances).toHaveLength(0);
    stream.close();
  });

  it('caps the config back-off at 30 s, and stopping the stream cancels the retries', async () => {
    vi.useFakeTimers();
    const { stream, asked } = streamAsking(new Error('502'));
    const off = stream.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    FakeEventSource.latest().open();
    await vi.advanceTimersByTimeAsync(1000 + 2000 + 4000 + 8000 + 16000 + 30000); // then 30 s, not 32 s
    expect(asked()).toBe(7);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(asked()).toBe(7);
    await vi.advanceTimersByTimeAsync(1);
    expect(asked()).toBe(8);
    off();
    expect(stream.getStatus()).toBe('idle');
    expect(FakeEventSource.latest().readyState).toBe(FakeEventSource.CLOSED);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(asked()).toBe(8);
    expect([FakeEventSource.instances.length, FakeHubConnection.instances.length]).toEqual([1, 0]);
  });

  it('ignores an answer that arrives after the stream stopped', async () => {
    vi.useFakeTimers();
    let answer: (kind: EventsKind) => void = () => {};
    const late = new Promise<EventsKind>((resolve) => (answer = resolve));
    const { stream, asked } = streamAsking(new Error('502'), late);
    const off = stream.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked()).toBe(2); // in flight
    off();
    answer('signalr');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(stream.getKind()).toBeNull();
    expect(FakeHubConnection.instances).toHaveLength(0);
    expect(stream.getStatus()).toBe('idle');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('asks /api/config at once again when the token changes during the retries', async () => {
    vi.useFakeTimers();
    const { stream, asked } = streamAsking(new Error('401'), 'signalr');
    stream.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(asked()).toBe(1);
    setToken('now-allowed');
    await vi.advanceTimersByTimeAsync(0);
    expect(asked()).toBe(2);
    expect(FakeEventSource.latest().readyState).toBe(FakeEventSource.CLOSED);
    await vi.waitFor(() => expect(FakeHubConnection.instances).toHaveLength(1));
    expect(FakeHubConnection.latest().options.accessTokenFactory?.()).toBe('now-allowed');
    expect(vi.getTimerCount()).toBe(0); // the old retry is gone
    await vi.advanceTimersByTimeAsync(60_000);
    expect(asked()).toBe(2);
    stream.close();
  });

  it('delivers pipeline.completed the same way over SSE and SignalR, and drops unknown types on both', async () => {
    const pipeline = {
      type: 'pipeline.completed',
      run_id: '', // a scheduled pipeline run
      dataset: 'shop',
      batch_id: '',
      at: '2025-01-01T11:00:00Z',
      message: 'Data Factory udo-small finished: Gold loaded',
      data: { pipeline: 'udo-small', marts: ['sales'] },
    };
    const unknown = { ...pipeline, type: 'run.teleported' };

    const overSse: RunEvent[] = [];
    const sse = streamAsking('sse').stream;
    sse.subscribe((e) => overSse.push(e));
    await vi.waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    FakeEventSource.latest().open();
    FakeEventSource.latest().emit('pipeline.completed', pipeline, 7);
    FakeEventSource.latest().emit('run.teleported', unknown, 8);
    FakeEventSource.latest().emit('message', unknown, 9); // an unnamed event is no way around it
    sse.close();

    const overHub: RunEvent[] = [];
    const signalr = streamAsking('signalr').stream;
    signalr.subscribe((e) => overHub.push(e));
    await vi.waitFor(() => expect(FakeHubConnection.latest().started).toBe(true));
    FakeHubConnection.latest().accept();
    FakeHubConnection.latest().emit('runEvent', pipeline);
    FakeHubConnection.latest().emit('runEvent', unknown);
    signalr.close();

    expect(overSse).toEqual([{ id: '7', ...pipeline }]);
    expect(overHub).toEqual([{ id: undefined, ...pipeline }]);
  });

  it('asks listeners to resynchronise after a SignalR reconnection (no replay there)', async () => {
    const { stream } = streamAsking('signalr');
    const resync = vi.fn();
    stream.subscribe(() => {});
    stream.onResync(resync);
    await vi.waitFor(() => expect(FakeHubConnection.latest().started).toBe(true));
    const hub = FakeHubConnection.latest();
    hub.accept();
    await vi.waitFor(() => expect(stream.getStatus()).toBe('open'));
    expect(resync).not.toHaveBeenCalled();
    hub.drop();
    expect(stream.getStatus()).toBe('reconnecting');
    hub.reconnect();
    expect(stream.getStatus()).toBe('open');
    expect(resync).toHaveBeenCalledTimes(1);
    stream.close();
  });

  it('builds a new hub with a back-off when the connection closes or negotiation fails', async () => {
    vi.useFakeTimers();
    const { stream, asked } = streamAsking('signalr');
    const resync = vi.fn();
    stream.subscribe(() => {});
    stream.onResync(resync);
    await vi.waitFor(() => expect(FakeHubConnection.latest().started).toBe(true));
    FakeHubConnection.latest().accept();
    await vi.waitFor(() => expect(stream.getStatus()).toBe('open'));
    FakeHubConnection.latest().close(); // automatic reconnection gave up
    expect(stream.getStatus()).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    await vi.waitFor(() => expect(FakeHubConnection.instances).toHaveLength(2));
    expect(asked()).toBe(1); // the kind is known: not asked again
    await vi.waitFor(() => expect(FakeHubConnection.latest().started).toBe(true));
    FakeHubConnection.latest().refuse('401 from /api/negotiate');
    await vi.advanceTimersByTimeAsync(2000); // the second retry waits twice as long
    await vi.waitFor(() => expect(FakeHubConnection.instances).toHaveLength(3));
    await vi.waitFor(() => expect(FakeHubConnection.latest().started).toBe(true));
    FakeHubConnection.latest().accept();
    await vi.waitFor(() => expect(stream.getStatus()).toBe('open'));
    expect(resync).toHaveBeenCalledTimes(1);
    expect(FakeEventSource.instances).toHaveLength(0);
    stream.close();
  });

  it('reconnects the hub with the new token when the token changes', async () => {
    const { stream } = streamAsking('signalr');
    stream.subscribe(() => {});
    await vi.waitFor(() => expect(FakeHubConnection.latest().started).toBe(true));
    const first = FakeHubConnection.latest();
    first.accept();
    setToken('t2');
    expect(first.stopped).toBe(true);
    await vi.waitFor(() => expect(FakeHubConnection.instances).toHaveLength(2));
    expect(FakeHubConnection.latest().options.accessTokenFactory?.()).toBe('t2');
    first.close(); // a late close of the old connection changes nothing
    expect(stream.getStatus()).not.toBe('idle');
    stream.close();
  });

  it('never starts a hub when the last listener left while it was being built', async () => {
    const { stream } = streamAsking('signalr');
    const off = stream.subscribe(() => {});
    off();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(FakeHubConnection.instances.every((hub) => !hub.started)).toBe(true);
    expect(stream.getStatus()).toBe('idle');
  });
});
