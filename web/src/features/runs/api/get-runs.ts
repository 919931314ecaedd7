import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys, type RunsParams } from '@/lib/query-keys';

import type { Run } from '../types';

export function getRuns(params: RunsParams, signal?: AbortSignal): Promise<Run[]> {
  return api.get<Run[]>('/api/runs', { dataset: params.dataset, status: params.status, limit: params.limit ?? 50 }, signal);
}

/** Fetched once; kept current by the event stream (see use-live-runs), never polled. */
export function useRuns(params: RunsParams = {}) {
  return useQuery({
    queryKey: queryKeys.runList(params),
    queryFn: ({ signal }) => getRuns(params, signal),
    staleTime: Infinity,
  });
}
