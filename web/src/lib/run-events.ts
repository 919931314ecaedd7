/**
 * The live event stream (GET /api/events, server-sent events), shared by every feature.
 *
 * One EventSource for the whole page, opened while someone listens. The browser
 * reconnects by itself after a network error and sends Last-Event-ID, so the server
 * replays what was missed. When the server refuses the stream (EventSource closed, e.g.
 * a 401 or a restart) we reconnect with a back-off, passing the last id seen as
 * `?last_event_id=`, and tell listeners to resynchronise (`onResync`).
 *
 * EventSource cannot send headers: with a token in Settings it is passed as the
 * `access_token` query parameter (RFC 6750 §2.3).
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';

import { apiUrl } from './api-client';
import { getToken, onTokenChange } from './token';

export const RUN_EVENT_TYPES = [
  'run.requested',
  'run.queued',
  'run.started',
  'run.stage',
  'run.succeeded',
  'run.failed',
  'run.dead_lettered',
] as const;

export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

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

export function parseRunEvent(type: string, raw: string, id?: string): RunEvent | null {
  try {
    const data = JSON.parse(raw) as Partial<RunEvent>;
    if (!data || typeof data !== 'object' || typeof data.run_id !== 'string') return null;
    return {
      id: id || undefined,
      type: (data.type ?? type) as RunEventType,
      run_id: data.run_id,
      dataset: data.dataset ?? '',
      batch_id: data.batch_id ?? '',
      at: data.at ?? new Date().toISOString(),
      message: data.message ?? '',
      data: data.data ?? {},
    };
  } catch {
    return null;
  }
}

export class RunEventStream {
  private source: EventSource | null = null;
  private listeners = new Set<Listener>();
  private resyncListeners = new Set<() => void>();
  private statusListeners = new Set<() => void>();
  private status: StreamStatus = 'idle';
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retries = 0;
  private wasOpen = false;
  private lastEventId: string | null = null;
  private unsubscribeToken: (() => void) | null = null;
  private readonly path: string;

  constructor(path = '/api/events') {
    this.path = path;
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

  private setStatus(status: StreamStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.statusListeners.forEach((fn) => fn());
  }

  private ensureOpen(): void {
    if (this.source || this.retryTimer || typeof EventSource === 'undefined') return;
    this.unsubscribeToken ??= onTokenChange(() => this.restart());
    this.open();
  }

  private open(): void {
    const token = getToken();
    const url = apiUrl(this.path, { access_token: token, last_event_id: this.lastEventId });
    const source = new EventSource(url);
    this.source = source;
    this.setStatus(this.wasOpen ? 'reconnecting' : 'connecting');
    source.onopen = () => {
      const resumed = this.wasOpen || this.retries > 0;
      this.retries = 0;
      this.wasOpen = true;
      this.setStatus('open');
      if (resumed) this.resyncListeners.forEach((fn) => fn());
    };
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
      if (event) this.listeners.forEach((fn) => fn(event));
    };
    for (const type of RUN_EVENT_TYPES) source.addEventListener(type, handle(type));
    source.addEventListener('message', handle('message'));
  }

  private scheduleRetry(): void {
    this.setStatus('reconnecting');
    const delay = Math.min(30_000, 1000 * 2 ** this.retries);
    this.retries += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.listeners.size > 0) this.open();
    }, delay);
  }

  private restart(): void {
    if (this.listeners.size === 0) return;
    this.source?.close();
    this.source = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retries = 0;
    this.open();
  }

  close(): void {
    this.source?.close();
    this.source = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.unsubscribeToken?.();
    this.unsubscribeToken = null;
    this.wasOpen = false;
    this.lastEventId = null;
    this.retries = 0;
    this.setStatus('idle');
  }
}

let shared: RunEventStream | null = null;

export function runEventStream(): RunEventStream {
  shared ??= new RunEventStream();
  return shared;
}

/** For tests: forget the shared stream (closing it). */
export function resetRunEventStream(): void {
  shared?.close();
  shared = null;
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
