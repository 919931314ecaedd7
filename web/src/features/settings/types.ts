export type Health = { status: string; version: string };

export type ApiConfig = {
  cloud: string;
  adapters: Record<string, string>;
  routing: { small_max_records: number };
  engines: Record<string, string>;
  triggers: Record<string, string>;
};
