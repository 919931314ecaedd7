import { QueryClient } from '@tanstack/react-query';

import { ApiError } from './api-client';

/** One QueryClient: no polling anywhere; live data comes from the event stream. */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        retry: (failures, error) =>
          !(error instanceof ApiError && error.isClientError) && failures < 2,
      },
      mutations: { retry: false },
    },
  });
}
