/**
 * Query keys, in one place so that one feature can refresh another's data (generating
 * a batch refreshes the dataset list; a run event refreshes runs and queues) without
 * importing it.
 */
export type RowsParams = {
  layer: 'bronze' | 'silver' | 'quarantine' | 'gold';
  table: string;
  batch_id?: string | null;
  offset: number;
  limit: number;
};

export type RunsParams = { dataset?: string; status?: string; limit?: number };

export const queryKeys = {
  health: ['health'] as const,
  config: ['config'] as const,
  presets: ['presets'] as const,
  preset: (name: string) => ['presets', name] as const,
  datasets: ['datasets'] as const,
  manifest: (dataset: string, batchId: string) => ['datasets', dataset, 'manifest', batchId] as const,
  rows: (dataset: string, params: RowsParams) => ['datasets', dataset, 'rows', params] as const,
  runs: ['runs'] as const,
  runLists: ['runs', 'list'] as const,
  runList: (params: RunsParams) => ['runs', 'list', params] as const,
  run: (id: string) => ['runs', 'detail', id] as const,
  queues: ['queues'] as const,
  triggers: ['triggers'] as const,
};
