import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { QueueStatus } from '../types';

export function getQueues(signal?: AbortSignal): Promise<QueueStatus[]> {
  return api.get<QueueStatus[]>('/api/queues', undefined, signal);
}

/** Refreshed by run events (use-live-queues) and after a drain; never polled. */
export function useQueues() {
  return useQuery({ queryKey: queryKeys.queues, queryFn: ({ signal }) => getQueues(signal) });
}
