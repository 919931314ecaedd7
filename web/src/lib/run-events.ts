/**
 * Live run events, shared by every feature: one connection for the whole page, opened
 * while someone listens.
 *
 * How to listen is the API's choice (GET /api/config, `events`):
 * - "sse": an EventSource on GET /api/events. The browser reconnects by itself after a
 *   network error and sends Last-Event-ID, so the server replays what was missed. When
 *   the server refuses the stream (EventSource closed, e.g. a 401 or a restart) we
 *   reconnect with a back-off, passing the last id seen as `?last_event_id=`, and tell
 *   listeners to resynchronise (`onResync`). EventSource cannot send headers: with a
 *   token in Settings it is passed as the `access_token` query parameter (RFC 6750 §2.3).
 * - "signalr": a SignalR HubConnection on /api (the client negotiates at
 *   /api/negotiate with the bearer token and is redirected to Azure SignalR Service);
 *   events arrive as `runEvent`. SignalR cannot replay, so every reconnection asks
 *   listeners to resynchronise.
 * When /api/config cannot be read, the stream falls back to SSE and keeps asking with a
 * back-off (1 s, 2 s, 4 s... at most 30 s) until it gets an answer: a healthy EventSource
 * never closes, so waiting for a reconnection could wait forever, and in Azure mode the
 * run events only go through SignalR. An answer of "signalr" closes the EventSource and
 * opens the hub.
 *
 * Both transports deliver the same events: the types in RUN_EVENT_TYPES, anything else is
 * dropped (SSE listens to these names only, so SignalR keeps to them too).
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';

import { api, apiUrl } from './api-client';
import { createHubConnection, RUN_EVENT_TARGET, type HubConnectionLike } from './signalr-hub';
import { getToken, onTokenChange } from './token';

export const RUN_EVENT_TYPES = [
  'run.requested',
  'run.queued',
  'run.started',
  'run.stage',
  'run.succeeded',
  'run.failed',
  'run.dead_lettered',
  /** Data Factory finished loading Gold; `run_id` is '' for a scheduled pipeline run. */
  'pipeline.completed',
] as const;

export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

const KNOWN_TYPES: ReadonlySet<string> = new Set(RUN_EVENT_TYPES);

/** How long to wait before the `attempt`-th retry (from 0): 1 s, 2 s, 4 s... at most 30 s. */
export function backoff(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** attempt);
}

export type RunEvent = {
  /** The SSE id (increasing), when the server sent one. */
  id?: string;
  type: RunEventType;
  run_id: string;
  dataset: string;
  batch_id: string;
  at: string;
  message: string;
  data: Record<string, unknown>;
};

export type StreamStatus = 'idle' | 'connecting' | 'open' | 'reconnecting';

type Listener = (event: RunEvent) => void;

/** A RunEvent from its JSON object (SignalR) or null when it is not one of a known type. */
export function toRunEvent(data: unknown, type = '', id?: string): RunEvent | null {
  if (!data || typeof data !== 'object') return null;
  const e = data as Partial<RunEvent>;
  if (typeof e.run_id !== 'string') return null;
  const eventType: unknown = e.type ?? type;
  if (typeof eventType !== 'string' || !KNOWN_TYPES.has(eventType)) return null;
  return {
    id: id || undefined,
    type: eventType as RunEventType,
    run_id: e.run_id,
    dataset: e.dataset ?? '',
    batch_id: e.batch_id ?? '',
    at: e.at ?? new Date().toISOString(),
    message: e.message ?? '',
    data: e.data ?? {},
  };
}

/** A RunEvent from an SSE `data:` line, or null when it is not one. */
export function parseRunEvent(type: string, raw: string, id?: string): RunEvent | null {
  try {
    return toRunEvent(JSON.parse(raw), type, id);
  } catch {
    return null;
  }
}

export type EventsKind = 'sse' | 'signalr';

/** How the API says browsers should listen (GET /api/config, `events`). */
export async function fetchEventsKind(): Promise<EventsKind> {
  const config = await api.get<{ events?: unknown }>('/api/config');
  return config?.events === 'signalr' ? 'signalr' : 'sse';
}

export type RunEventStreamOptions = {
  /** The SSE endpoint. */
  path?: string;
  /** The SignalR hub URL (the client posts to `<hubPath>/negotiate`). */
  hubPath?: string;
  /**
   * A fixed transport; otherwise asked with `resolveKind` when the stream opens, and again
   * with a back-off while it fails (listening over SSE meanwhile).
   */
  kind?: EventsKind;
  resolveKind?: () => Promise<EventsKind>;
  createHub?: (url: string, accessTokenFactory: () => string) => Promise<HubConnectionLike>;
};

export class RunEventStream {
  private source: EventSource | null = null;
  private hub: HubConnectionLike | null = null;
  private connecting = false;
  private generation = 0;
  private kind: EventsKind | null;
  private listeners = new Set<Listener>();
  private resyncListeners = new Set<() => void>();
  private statusListeners = new Set<() => void>();
  private status: StreamStatus = 'idle';
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retries = 0;
  /** Asking /api/config again while running on the SSE fallback (see `retryKind`). */
  private askingKind = false;
  private kindTimer: ReturnType<typeof setTimeout> | null = null;
  private kindRetries = 0;
  /** Bumped to drop the retries, and the answer of a request still in flight. */
  private kindLoop = 0;
  private wasOpen = false;
  private lastEventId: string | null = null;
  private unsubscribeToken: (() => void) | null = null;
  private readonly path: string;
  private readonly hubPath: string;
  private readonly resolveKind: () => Promise<EventsKind>;
  private readonly createHub: (url: string, accessTokenFactory: () => string) => Promise<HubConnectionLike>;

  constructor(options: RunEventStreamOptions = {}) {
    this.path = options.path ?? '/api/events';
    this.hubPath = options.hubPath ?? '/api';
    this.kind = options.kind ?? null;
    this.resolveKind = options.resolveKind ?? fetchEventsKind;
    this.createHub = options.createHub ?? createHubConnection;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    this.ensureOpen();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.close();
    };
  }

  /** Called after the stream came back from a break it could not replay. */
  onResync(fn: () => void): () => void {
    this.resyncListeners.add(fn);
    return () => this.resyncListeners.delete(fn);
  }

  onStatus = (fn: () => void): (() => void) => {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  };

  getStatus = (): StreamStatus => this.status;

  /** The transport in use or chosen last ('sse' / 'signalr'), null before the API answered. */
  getKind = (): EventsKind | null => this.kind;

  private setStatus(status: StreamStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.statusListeners.forEach((fn) => fn());
  }

  private ensureOpen(): void {
    if (this.source || this.hub || this.connecting || this.retryTimer) return;
    this.unsubscribeToken ??= onTokenChange(() => this.restart());
    this.connect();
  }

  /** Open the transport the API asks for (asking it first when not known yet). */
  private connect(): void {
    const generation = ++this.generation;
    this.setStatus(this.wasOpen ? 'reconnecting' : 'connecting');
    if (this.kind) {
      this.openKind(this.kind, generation);
      return;
    }
    if (this.askingKind) {
      this.openKind('sse', generation); // still unknown: the retries go on meanwhile
      return;
    }
    this.connecting = true;
    this.resolveKind().then(
      (kind) => {
        if (generation !== this.generation) return; // closed or restarted meanwhile
        this.kind = kind;
        this.openKind(kind, generation);
      },
      () => {
        if (generation !== this.generation) return;
        this.openKind('sse', generation);
        this.retryKind();
      },
    );
  }

  /**
   * Ask /api/config again after a back-off, and again until it answers. The SSE fallback
   * runs meanwhile; a healthy EventSource never closes, so no reconnection would ask.
   */
  private retryKind(): void {
    if (this.kindTimer || this.listeners.size === 0) return;
    this.askingKind = true;
    const loop = this.kindLoop;
    this.kindTimer = setTimeout(() => {
      this.kindTimer = null;
      this.resolveKind().then(
        (kind) => {
          if (loop !== this.kindLoop) return; // closed or restarted meanwhile
          this.stopKindRetries();
          this.useKind(kind);
        },
        () => {
          if (loop === this.kindLoop) this.retryKind();
        },
      );
    }, backoff(this.kindRetries++));
  }

  private stopKindRetries(): void {
    this.kindLoop += 1;
    this.askingKind = false;
    this.kindRetries = 0;
    if (this.kindTimer) clearTimeout(this.kindTimer);
    this.kindTimer = null;
  }

  /** The API answered at last, while listening over SSE: move to the hub if it says so. */
  private useKind(kind: EventsKind): void {
    this.kind = kind;
    if (kind !== 'signalr' || this.listeners.size === 0) return; // 'sse': keep the stream
    this.stopTransport(); // closes the EventSource (and a pending reopening)
    this.connect();
  }

  private openKind(kind: EventsKind, generation: number): void {
    this.connecting = false;
    if (this.listeners.size === 0) return;
    if (kind === 'signalr') void this.openHub(generation);
    else this.openEventSource();
  }

  private dispatch(event: RunEvent | null): void {
    if (event) this.listeners.forEach((fn) => fn(event));
  }

  private resync(): void {
    this.resyncListeners.forEach((fn) => fn());
  }

  private markOpen(): void {
    const resumed = this.wasOpen || this.retries > 0;
    this.retries = 0;
    this.wasOpen = true;
    this.setStatus('open');
    if (resumed) this.resync();
  }

  private openEventSource(): void {
    if (typeof EventSource === 'undefined') return;
    const token = getToken();
    const url = apiUrl(this.path, { access_token: token, last_event_id: this.lastEventId });
    const source = new EventSource(url);
    this.source = source;
    source.onopen = () => this.markOpen();
    source.onerror = () => {
      if (source.readyState === 2 /* CLOSED */) {
        this.source = null;
        this.scheduleRetry();
      } else {
        this.setStatus('reconnecting'); // the browser retries by itself
      }
    };
    const handle = (type: string) => (e: MessageEvent) => {
      const event = parseRunEvent(type, String(e.data), e.lastEventId);
      if (e.lastEventId) this.lastEventId = e.lastEventId;
      this.dispatch(event);
    };
    for (const type of RUN_EVENT_TYPES) source.addEventListener(type, handle(type));
    source.addEventListener('message', handle('message'));
  }

  private async openHub(generation: number): Promise<void> {
    this.connecting = true;
    let hub: HubConnectionLike;
    try {
      hub = await this.createHub(apiUrl(this.hubPath), () => getToken() ?? '');
    } catch {
      if (generation !== this.generation) return;
      this.connecting = false;
      this.scheduleRetry();
      return;
    }
    if (generation !== this.generation) return; // closed while loading: never started
    this.connecting = false;
    this.hub = hub;
    hub.on(RUN_EVENT_TARGET, (payload: unknown) => this.dispatch(toRunEvent(payload)));
    hub.onreconnecting(() => {
      if (this.hub === hub) this.setStatus('reconnecting');
    });
    hub.onreconnected(() => {
      if (this.hub !== hub) return;
      this.setStatus('open');
      this.resync(); // SignalR does not replay what was sent during the break
    });
    hub.onclose(() => {
      if (this.hub !== hub) return; // stopped by us
      this.hub = null;
      this.scheduleRetry();
    });
    try {
      await hub.start();
    } catch {
      if (this.hub !== hub) return;
      this.hub = null;
      this.scheduleRetry();
      return;
    }
    if (this.hub === hub) this.markOpen();
  }

  private stopTransport(): void {
    this.generation += 1; // whatever is still being opened is dropped
    this.connecting = false;
    this.source?.close();
    this.source = null;
    const hub = this.hub;
    this.hub = null;
    if (hub) void hub.stop().catch(() => undefined);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopKindRetries();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.listeners.size === 0) return;
    this.setStatus('reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.listeners.size > 0) this.connect();
    }, backoff(this.retries++));
  }

  private restart(): void {
    if (this.listeners.size === 0) return;
    this.stopTransport();
    this.retries = 0;
    this.connect();
  }

  close(): void {
    this.stopTransport();
    this.unsubscribeToken?.();
    this.unsubscribeToken = null;
    this.wasOpen = false;
    this.lastEventId = null;
    this.retries = 0;
    this.setStatus('idle');
  }
}

let shared: RunEventStream | null = null;
let sharedOptions: RunEventStreamOptions = {};

export function runEventStream(): RunEventStream {
  shared ??= new RunEventStream(sharedOptions);
  return shared;
}

/** For tests: forget the shared stream (closing it); the next one is built with `options`. */
export function resetRunEventStream(options: RunEventStreamOptions = {}): void {
  shared?.close();
  shared = null;
  sharedOptions = options;
}

/** Call `listener` for every run event while the component is mounted. */
export function useRunEvents(listener: Listener, onResync?: () => void): void {
  const ref = useRef(listener);
  const resyncRef = useRef(onResync);
  useEffect(() => {
    ref.current = listener;
    resyncRef.current = onResync;
  });
  useEffect(() => {
    const stream = runEventStream();
    const off = stream.subscribe((e) => ref.current(e));
    const offResync = stream.onResync(() => resyncRef.current?.());
    return () => {
      offResync();
      off();
    };
  }, []);
}

export function useEventStreamStatus(): StreamStatus {
  const stream = runEventStream();
  return useSyncExternalStore(stream.onStatus, stream.getStatus, stream.getStatus);
}
