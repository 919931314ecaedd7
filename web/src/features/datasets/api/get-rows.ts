import { keepPreviousData, useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys, type RowsParams } from '@/lib/query-keys';

import type { RowsPage } from '../types';

export const MAX_LIMIT = 500;

export function getRows(dataset: string, params: RowsParams, signal?: AbortSignal): Promise<RowsPage> {
  return api.get<RowsPage>(
    `/api/datasets/${encodeURIComponent(dataset)}/rows`,
    {
      layer: params.layer,
      table: params.table,
      batch_id: params.batch_id ?? undefined,
      offset: params.offset,
      limit: Math.min(params.limit, MAX_LIMIT),
    },
    signal,
  );
}

export function useRows(dataset: string, params: RowsParams | null) {
  return useQuery({
    queryKey: queryKeys.rows(dataset, params ?? { layer: 'bronze', table: '', offset: 0, limit: 0 }),
    queryFn: ({ signal }) => getRows(dataset, params as RowsParams, signal),
    enabled: params !== null && Boolean(params.table),
    placeholderData: keepPreviousData,
  });
}
