import { useMutation, useQueryClient } from '@tanstack/react-query';

import type { LandedBatch } from '@/components/landed-batch';
import { request } from '@/lib/api-client';
import { queryKeys } from '@/lib/query-keys';

export type UploadInput = { dataset: string; files: File[]; batchId?: string | null };

/** Multipart: one `files` part per file, and `batch_id` when given. 413 over the size limit. */
export function uploadFiles({ dataset, files, batchId }: UploadInput): Promise<LandedBatch> {
  const form = new FormData();
  for (const file of files) form.append('files', file, file.name);
  if (batchId) form.append('batch_id', batchId);
  return request<LandedBatch>(`/api/datasets/${encodeURIComponent(dataset)}/upload`, {
    method: 'POST',
    body: form,
  });
}

export function useUploadFiles() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: uploadFiles,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.datasets }),
  });
}
