import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { DrainResult } from '../types';

/** Start draining a queue now (202); progress arrives as run events. */
export function drainQueue(route: string): Promise<DrainResult> {
  return api.post<DrainResult>(`/api/queues/${encodeURIComponent(route)}/drain`);
}

export function useDrainQueue() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: drainQueue,
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.queues });
      void queryClient.invalidateQueries({ queryKey: queryKeys.triggers });
    },
  });
}
