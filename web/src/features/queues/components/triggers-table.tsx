import { ErrorBox } from '@/components/error-box';
import { Table } from '@/components/table';
import { formatRelative, formatTime } from '@/lib/format';

import { useTriggers } from '../api/get-triggers';
import type { Trigger } from '../types';

function describe(spec: string): string {
  const [kind, value] = [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)];
  if (kind === 'interval') {
    const s = Number(value);
    return Number.isFinite(s) ? `every ${s % 60 === 0 ? `${s / 60} min` : `${s} s`}` : spec;
  }
  if (kind === 'cron') return `cron ${value} (UTC)`;
  return spec;
}

export function TriggersTable() {
  const triggers = useTriggers();
  if (triggers.isError) return <ErrorBox error={triggers.error} title="Could not read the triggers" onRetry={() => triggers.refetch()} />;
  return (
    <Table<Trigger>
      label="Triggers"
      rows={triggers.data ?? []}
      loading={triggers.isLoading}
      rowKey={(t) => t.route}
      empty="No triggers."
      columns={[
        { key: 'route', header: 'queue', mono: true, render: (t) => `${t.route}-queue` },
        { key: 'spec', header: 'schedule', mono: true },
        { key: 'describe', header: '', render: (t) => <span className="muted">{describe(t.spec)}</span> },
        { key: 'next_fire_time', header: 'next fire', mono: true, render: (t) => formatTime(t.next_fire_time) },
        { key: 'in', header: '', render: (t) => (t.next_fire_time ? formatRelative(t.next_fire_time) : 'paused') },
      ]}
    />
  );
}
