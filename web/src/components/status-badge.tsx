/** A run status as a coloured badge (REQUESTED, QUEUED, RUNNING, SUCCEEDED, FAILED, DEAD_LETTERED). */
const TONES: Record<string, string> = {
  REQUESTED: 'neutral',
  QUEUED: 'info',
  RUNNING: 'running',
  SUCCEEDED: 'ok',
  FAILED: 'warn',
  DEAD_LETTERED: 'bad',
};

export function StatusBadge({ status, stage }: { status: string; stage?: string | null }) {
  const tone = TONES[status] ?? 'neutral';
  return (
    <span className={`badge badge-${tone}`} title={stage ? `${status} · ${stage}` : status}>
      {tone === 'running' ? <span className="pulse" aria-hidden="true" /> : null}
      {status.replace('_', ' ').toLowerCase()}
    </span>
  );
}

/** A small pill for other states: ok/bad/warn/info/neutral. */
export function Pill({ tone = 'neutral', children }: { tone?: string; children: React.ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}
