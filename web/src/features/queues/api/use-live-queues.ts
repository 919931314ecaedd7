import { useQueryClient } from '@tanstack/react-query';

import { queryKeys } from '@/lib/query-keys';
import { useRunEvents } from '@/lib/run-events';

/** Queue depths change when runs are queued, picked up, finished or dead-lettered. */
export function useLiveQueues(): void {
  const queryClient = useQueryClient();
  useRunEvents(
    (event) => {
      if (event.type !== 'run.stage') void queryClient.invalidateQueries({ queryKey: queryKeys.queues });
    },
    () => void queryClient.invalidateQueries({ queryKey: queryKeys.queues }),
  );
}
