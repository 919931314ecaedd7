import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { ApiConfig } from '../types';

export function getConfig(signal?: AbortSignal): Promise<ApiConfig> {
  return api.get<ApiConfig>('/api/config', undefined, signal);
}

export function useConfig(enabled = true) {
  return useQuery({ queryKey: queryKeys.config, queryFn: ({ signal }) => getConfig(signal), enabled });
}
