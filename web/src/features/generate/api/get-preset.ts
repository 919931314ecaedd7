import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { PresetSpec } from '../types';

export function getPreset(name: string, signal?: AbortSignal): Promise<PresetSpec> {
  return api.get<PresetSpec>(`/api/presets/${encodeURIComponent(name)}`, undefined, signal);
}

export function usePreset(name: string | null) {
  return useQuery({
    queryKey: queryKeys.preset(name ?? ''),
    queryFn: ({ signal }) => getPreset(name as string, signal),
    enabled: Boolean(name),
    staleTime: Infinity,
  });
}
