/** The server's version and whether the live event stream is connected. */
import { runEventStream, useEventStreamStatus } from '@/lib/run-events';

import { useHealth } from '../api/get-health';

const LABELS = { idle: 'offline', connecting: 'connecting', open: 'live', reconnecting: 'reconnecting' } as const;

export function ApiStatus() {
  const health = useHealth();
  const stream = useEventStreamStatus();
  return (
    <div className="api-status">
      <span className={`live-dot live-${stream}`} aria-hidden="true" />
      <span title={runEventStream().getKind() === 'signalr' ? 'Run events (Azure SignalR Service)' : 'Run events (GET /api/events)'}>
        {LABELS[stream]}
      </span>
      <span className="muted mono">{health.data ? `v${health.data.version}` : health.isError ? 'API down' : ''}</span>
    </div>
  );
}
