import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { Preset } from '../types';

export function getPresets(signal?: AbortSignal): Promise<Preset[]> {
  return api.get<Preset[]>('/api/presets', undefined, signal);
}

export function usePresets() {
  return useQuery({
    queryKey: queryKeys.presets,
    queryFn: ({ signal }) => getPresets(signal),
    staleTime: Infinity,
  });
}
