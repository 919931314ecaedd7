export type PoisonMessage = {
  id: string;
  run_id: string | null;
  dataset: string | null;
  batch_id: string | null;
  enqueued_at: string | null;
};

export type QueueStatus = {
  route: 'small' | 'large' | string;
  name: string;
  depth: number;
  poison: number;
  poison_messages: PoisonMessage[];
};

export type Trigger = { route: string; spec: string; next_fire_time: string | null };

export type DrainResult = { route: string; started: boolean };
