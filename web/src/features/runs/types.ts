export type RunStatus = 'REQUESTED' | 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'DEAD_LETTERED';

export const RUN_STATUSES: RunStatus[] = ['REQUESTED', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'DEAD_LETTERED'];

export type Run = {
  id: string;
  dataset: string;
  batch_id: string;
  records: number;
  route: 'small' | 'large';
  engine: string;
  status: RunStatus;
  stage: string | null;
  requested_at: string;
  updated_at: string;
  attempts: number;
  error: string | null;
};

export type Transition = { status: RunStatus; at: string; stage: string | null; detail: string | null };

export type TableLedger = {
  table?: string;
  bronze_in: number;
  silver_out: number;
  quarantined: number;
  duplicates_removed: number;
  violations?: Record<string, number>;
  actions?: Record<string, string>;
  missing_columns?: string[];
  extra_columns?: string[];
};

export type DefectScore = { injected: number; rejected: number; repaired: number; missed: number };

export type TableQuality = {
  defects: Record<string, DefectScore>;
  clean_rows?: number;
  false_rejects: number;
  false_rejects_by_rule: Record<string, number>;
};

export type LoadedTable = {
  destination: string;
  target: string;
  layer: string;
  source: string;
  mode: string;
  rows: number;
  method?: string | null;
  seconds?: number;
};

export type ReconciliationCheck = {
  destination: string;
  target: string;
  check: string;
  expected: string | number;
  actual: string | number | null;
  ok: boolean;
};

export type Ledger = {
  dataset?: string;
  batch_id?: string;
  engine?: string;
  rules_version?: string;
  tables: Record<string, TableLedger>;
  marts?: Record<string, number>;
  stage_seconds?: Record<string, number>;
  quality?: { tables: Record<string, TableQuality> } | null;
  load?: { tables: LoadedTable[]; checks: ReconciliationCheck[] } | null;
};

export type RunDetail = Run & {
  transitions: Transition[];
  stage_seconds: Record<string, number>;
  ledger: Ledger | null;
};

export const TERMINAL: RunStatus[] = ['SUCCEEDED', 'DEAD_LETTERED'];
