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

/** A stream whose transport comes from a fake /api/config answer. */
function streamAsking(kind: EventsKind | Error): { stream: RunEventStream; asked: () => number } {
  let asked = 0;
  const stream = new RunEventStream({
    resolveKind: () => {
      asked += 1;
      return kind instanceof Error ? Promise.reject(kind) : Promise.resolve(kind);
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

  it('falls back to SSE when /api/config cannot be read, and asks again on reconnection', async () => {
    vi.useFakeTimers();
    const { stream, asked } = streamAsking(new Error('401'));
    stream.subscribe(() => {});
    await vi.waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    expect(stream.getKind()).toBeNull();
    FakeEventSource.latest().fail(true); // refused, e.g. no token yet
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked()).toBe(2);
    expect(FakeEventSource.instances).toHaveLength(2);
    stream.close();
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
