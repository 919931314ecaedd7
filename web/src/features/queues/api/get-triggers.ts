import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { Trigger } from '../types';

export function getTriggers(signal?: AbortSignal): Promise<Trigger[]> {
  return api.get<Trigger[]>('/api/triggers', undefined, signal);
}

export function useTriggers() {
  return useQuery({ queryKey: queryKeys.triggers, queryFn: ({ signal }) => getTriggers(signal) });
}
