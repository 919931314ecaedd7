import { useMutation } from '@tanstack/react-query';

import { api } from '@/lib/api-client';

import type { SpecValidation } from '../types';

/** 200 {ok, name, tables}, or an ApiError (422) whose details carry loc, message and line. */
export function validateSpec(yaml: string): Promise<SpecValidation> {
  return api.post<SpecValidation>('/api/specs/validate', { yaml });
}

export function useValidateSpec() {
  return useMutation({ mutationFn: validateSpec });
}
