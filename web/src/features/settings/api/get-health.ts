import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { Health } from '../types';

export function getHealth(signal?: AbortSignal): Promise<Health> {
  return api.get<Health>('/api/health', undefined, signal);
}

export function useHealth() {
  return useQuery({ queryKey: queryKeys.health, queryFn: ({ signal }) => getHealth(signal), staleTime: Infinity });
}
