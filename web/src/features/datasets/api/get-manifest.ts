import { useQuery } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { BronzeManifest } from '../types';

export function getManifest(dataset: string, batchId: string, signal?: AbortSignal): Promise<BronzeManifest> {
  const path = `/api/datasets/${encodeURIComponent(dataset)}/batches/${encodeURIComponent(batchId)}/manifest`;
  return api.get<BronzeManifest>(path, undefined, signal);
}

export function useManifest(dataset: string, batchId: string | null) {
  return useQuery({
    queryKey: queryKeys.manifest(dataset, batchId ?? ''),
    queryFn: ({ signal }) => getManifest(dataset, batchId as string, signal),
    enabled: Boolean(batchId),
    staleTime: Infinity, // a landed batch never changes
  });
}
