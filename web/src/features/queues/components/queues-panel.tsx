/** Each queue: depth, poison depth and messages, and a "Drain now" button. */
import { Link } from 'react-router';

import { ErrorBox } from '@/components/error-box';
import { Empty, Loading } from '@/components/section';
import { Table } from '@/components/table';
import { useToast } from '@/components/toast';
import { ApiError } from '@/lib/api-client';
import { formatNumber, formatTime } from '@/lib/format';

import { useDrainQueue } from '../api/drain-queue';
import { useQueues } from '../api/get-queues';
import type { PoisonMessage, QueueStatus } from '../types';

export function QueuesPanel() {
  const queues = useQueues();
  if (queues.isLoading) return <Loading />;
  if (queues.isError) return <ErrorBox error={queues.error} title="Could not read the queues" onRetry={() => queues.refetch()} />;
  const list = queues.data ?? [];
  if (list.length === 0) return <Empty>No queues configured.</Empty>;
  return (
    <div className="queue-grid">
      {list.map((q) => (
        <QueueCard key={q.route} queue={q} />
      ))}
    </div>
  );
}

function QueueCard({ queue }: { queue: QueueStatus }) {
  const drain = useDrainQueue();
  const toast = useToast();
  return (
    <section className="panel queue-card" aria-label={queue.name} data-testid={`queue-${queue.route}`}>
      <header className="panel-head">
        <h2>
          <span className="mono">{queue.name}</span>
        </h2>
        <button
          type="button"
          className="btn btn-primary"
          disabled={drain.isPending}
          aria-label={`Drain now ${queue.route}`}
          onClick={() =>
            drain.mutate(queue.route, {
              onSuccess: (r) =>
                toast.show({
                  tone: 'info',
                  title: r.started ? `Draining ${queue.name}` : `${queue.name} is already draining`,
                  duration: 4000,
                }),
              onError: (err) => {
                // 409: a drain of this queue is already running, which is what was asked
                if (err instanceof ApiError && err.status === 409) {
                  toast.show({ tone: 'info', title: `${queue.name} is already draining`, duration: 4000 });
                }
              },
            })
          }
        >
          {drain.isPending ? 'Starting…' : 'Drain now'}
        </button>
      </header>
      <div className="panel-body">
        <div className="queue-stats">
          <div className="stat">
            <span className="stat-value">{formatNumber(queue.depth)}</span>
            <span className="stat-label">waiting</span>
          </div>
          <div className={`stat${queue.poison ? ' stat-bad' : ''}`}>
            <span className="stat-value">{formatNumber(queue.poison)}</span>
            <span className="stat-label">poison ({queue.name}-poison)</span>
          </div>
        </div>
        {drain.isError && !(drain.error instanceof ApiError && drain.error.status === 409) ? (
          <ErrorBox error={drain.error} title="Drain failed" />
        ) : null}
        {queue.poison_messages.length ? (
          <Table<PoisonMessage>
            label={`Poison messages of ${queue.name}`}
            rows={queue.poison_messages}
            rowKey={(m) => m.id}
            pageSize={10}
            columns={[
              { key: 'id', header: 'message', mono: true },
              {
                key: 'run_id',
                header: 'run',
                mono: true,
                render: (m) => (m.run_id ? <Link to={`/runs/${encodeURIComponent(m.run_id)}`}>{m.run_id}</Link> : '—'),
              },
              { key: 'dataset', header: 'dataset', mono: true, render: (m) => m.dataset ?? '—' },
              { key: 'batch_id', header: 'batch', mono: true, render: (m) => m.batch_id ?? '—' },
              { key: 'enqueued_at', header: 'enqueued', mono: true, render: (m) => formatTime(m.enqueued_at) },
            ]}
          />
        ) : (
          <p className="muted small">No poison messages.</p>
        )}
      </div>
    </section>
  );
}
