import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { DatasetSummary } from '../types';

export function getDatasets(signal?: AbortSignal): Promise<DatasetSummary[]> {
  return api.get<DatasetSummary[]>('/api/datasets', undefined, signal);
}

export function useDatasets() {
  return useQuery({ queryKey: queryKeys.datasets, queryFn: ({ signal }) => getDatasets(signal) });
}
