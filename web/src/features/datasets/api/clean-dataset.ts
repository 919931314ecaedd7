import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { CleanRequest, CleanResponse } from '../types';

/** "Clean Data": route the batch by size and enqueue it (202). */
export function cleanDataset(body: CleanRequest): Promise<CleanResponse> {
  return api.post<CleanResponse>('/api/clean', body);
}

export function useCleanDataset() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: cleanDataset,
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.runLists });
      void queryClient.invalidateQueries({ queryKey: queryKeys.queues });
    },
  });
}
