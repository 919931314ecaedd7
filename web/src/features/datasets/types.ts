import { compareTime } from '@/lib/format';

export type BatchSummary = {
  batch_id: string;
  origin: 'generated' | 'ingested' | string;
  records: number;
  created_at: string;
};

export type DatasetSummary = { name: string; batches: BatchSummary[] };

export type ColumnSchema = { name: string; type: string; nullable?: boolean };

export type TableManifest = {
  file: string;
  format: string;
  records: number;
  bytes: number;
  sha256?: string;
  columns: ColumnSchema[];
  defects?: { counts: Record<string, number>; file?: string | null } | null;
  malformed?: { count: number; by_reason?: Record<string, number> } | null;
  source_name?: string | null;
};

export type BronzeManifest = {
  dataset: string;
  batch_id: string;
  origin: string;
  created_at: string;
  tables: Record<string, TableManifest>;
  spec_name?: string | null;
  seed?: number | null;
  dirt?: Record<string, number> | null;
  spec?: { marts?: { name: string }[] } & Record<string, unknown> | null;
};

export type Layer = 'bronze' | 'silver' | 'gold' | 'quarantine';

export type RowsPage = {
  columns: ColumnSchema[];
  rows: Record<string, unknown>[];
  total: number;
  offset: number;
  limit: number;
};

export type CleanRequest = { dataset: string; batch_id: string | null; force: boolean };

export type CleanResponse = {
  run_id: string;
  route: 'small' | 'large';
  records: number;
  threshold: number;
  reason: string;
  reused: boolean;
  status: string;
};

/** The latest batch first. */
export function sortBatches(batches: BatchSummary[]): BatchSummary[] {
  return [...batches].sort((a, b) => compareTime(b.created_at, a.created_at));
}
