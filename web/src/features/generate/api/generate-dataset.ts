import { useMutation, useQueryClient } from '@tanstack/react-query';

import type { LandedBatch } from '@/components/landed-batch';
import { api } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

import type { GenerateRequest } from '../types';

export function generateDataset(body: GenerateRequest): Promise<LandedBatch> {
  return api.post<LandedBatch>('/api/datasets/generate', body);
}

export function useGenerateDataset() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: generateDataset,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.datasets }),
  });
}
