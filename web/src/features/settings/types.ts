export type Health = { status: string; version: string };

export type ApiConfig = {
  cloud: string;
  /** How browsers get run events: GET /api/events, or SignalR via POST /api/negotiate. */
  events: 'sse' | 'signalr';
  adapters: Record<string, string>;
  routing: { small_max_records: number };
  engines: Record<string, string>;
  triggers: Record<string, string>;
};
