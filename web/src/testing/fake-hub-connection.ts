/**
 * A stand-in for `@microsoft/signalr`: tests start, drop, reconnect and close a hub
 * connection and push server calls into it.
 *   vi.mock('@microsoft/signalr', async () => (await import('@/testing/fake-hub-connection')).fakeSignalR)
 */
type Callback = (...args: unknown[]) => void;
type HttpOptions = { accessTokenFactory?: () => string | Promise<string>; withCredentials?: boolean };

export class FakeHubConnection {
  static instances: FakeHubConnection[] = [];

  readonly url: string;
  readonly options: HttpOptions;
  readonly automaticReconnect: boolean;
  started = false;
  stopped = false;
  private handlers = new Map<string, Set<Callback>>();
  private closed = new Set<Callback>();
  private reconnecting = new Set<Callback>();
  private reconnected = new Set<Callback>();
  private settleStart: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(url: string, options: HttpOptions, automaticReconnect: boolean) {
    this.url = url;
    this.options = options;
    this.automaticReconnect = automaticReconnect;
  }

  static latest(): FakeHubConnection {
    const last = FakeHubConnection.instances[FakeHubConnection.instances.length - 1];
    if (!last) throw new Error('no HubConnection was built');
    return last;
  }

  static reset(): void {
    FakeHubConnection.instances = [];
  }

  on(name: string, callback: Callback): void {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name)?.add(callback);
  }

  onclose(callback: Callback): void {
    this.closed.add(callback);
  }

  onreconnecting(callback: Callback): void {
    this.reconnecting.add(callback);
  }

  onreconnected(callback: Callback): void {
    this.reconnected.add(callback);
  }

  start(): Promise<void> {
    this.started = true;
    return new Promise((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  /** The negotiation and transport succeeded. */
  accept(): void {
    this.settleStart?.resolve();
  }

  /** start() failed (e.g. /api/negotiate answered 401 or 404). */
  refuse(message = 'negotiation failed'): void {
    this.settleStart?.reject(new Error(message));
  }

  /** The server called a client method, as Azure SignalR Service does on a broadcast. */
  emit(name: string, ...args: unknown[]): void {
    this.handlers.get(name)?.forEach((fn) => fn(...args));
  }

  /** The connection dropped; the client tries to reconnect. */
  drop(): void {
    this.reconnecting.forEach((fn) => fn(new Error('connection lost')));
  }

  /** An automatic reconnection succeeded. */
  reconnect(): void {
    this.reconnected.forEach((fn) => fn('new-connection-id'));
  }

  /** The connection is closed for good (automatic reconnection gave up). */
  close(): void {
    this.closed.forEach((fn) => fn(new Error('closed')));
  }
}

class FakeHubConnectionBuilder {
  private url = '';
  private options: HttpOptions = {};
  private automaticReconnect = false;

  withUrl(url: string, options: HttpOptions = {}): this {
    this.url = url;
    this.options = options;
    return this;
  }

  withAutomaticReconnect(): this {
    this.automaticReconnect = true;
    return this;
  }

  configureLogging(): this {
    return this;
  }

  build(): FakeHubConnection {
    const connection = new FakeHubConnection(this.url, this.options, this.automaticReconnect);
    FakeHubConnection.instances.push(connection);
    return connection;
  }
}

/** What `vi.mock('@microsoft/signalr', ...)` returns. */
export const fakeSignalR = {
  HubConnectionBuilder: FakeHubConnectionBuilder,
  LogLevel: { Trace: 0, Debug: 1, Information: 2, Warning: 3, Error: 4, Critical: 5, None: 6 },
};
