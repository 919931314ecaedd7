import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { RunDetail } from '../types';

export function getRun(id: string, signal?: AbortSignal): Promise<RunDetail> {
  return api.get<RunDetail>(`/api/runs/${encodeURIComponent(id)}`, undefined, signal);
}

/** Refetched when an event about this run arrives (use-live-runs), never polled. */
export function useRun(id: string) {
  return useQuery({
    queryKey: queryKeys.run(id),
    queryFn: ({ signal }) => getRun(id, signal),
    staleTime: Infinity,
  });
}
