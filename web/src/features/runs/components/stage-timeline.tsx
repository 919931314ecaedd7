/** Every transition of a run, with its time and how long the run stayed there. */
import { StatusBadge } from '@/components/status-badge';
import { compareTime, formatDuration, formatTime, secondsBetween } from '@/lib/format';
import { useNow } from '@/lib/use-now';

import { TERMINAL, type RunStatus, type Transition } from '../types';

type Props = {
  transitions: Transition[];
  status: RunStatus;
  stageSeconds?: Record<string, number>;
  /** For the open last step; a number so tests can fix it. */
  now?: number;
};

export function StageTimeline({ transitions, status, stageSeconds = {}, now: fixedNow }: Props) {
  const open = !TERMINAL.includes(status);
  const ticking = useNow(open && fixedNow === undefined);
  const now = fixedNow ?? ticking;
  const steps = [...transitions].sort((a, b) => compareTime(a.at, b.at));
  const first = steps[0]?.at;
  const last = steps[steps.length - 1]?.at;
  const total = first && last ? secondsBetween(first, open ? new Date(now).toISOString() : last) : null;
  const stages = Object.entries(stageSeconds);
  const stageTotal = stages.reduce((n, [, s]) => n + s, 0);
  return (
    <div className="timeline-wrap">
      <ol className="timeline">
        {steps.map((t, i) => {
          const next = steps[i + 1]?.at ?? (open ? new Date(now).toISOString() : null);
          const seconds = next ? secondsBetween(t.at, next) : null;
          return (
            <li key={`${t.at}-${i}`} className={`timeline-step step-${t.status.toLowerCase()}`}>
              <span className="timeline-dot" aria-hidden="true" />
              <div className="timeline-main">
                <StatusBadge status={t.status} />
                {t.stage ? <span className="mono timeline-stage">{t.stage}</span> : null}
                {t.detail ? <span className="muted timeline-detail">{t.detail}</span> : null}
              </div>
              <time className="mono timeline-at" dateTime={t.at}>
                {formatTime(t.at)}
              </time>
              <span className="timeline-dur mono">
                {seconds !== null ? (steps[i + 1] ? formatDuration(seconds) : `${formatDuration(seconds)}…`) : ''}
              </span>
            </li>
          );
        })}
      </ol>
      <div className="timeline-summary">
        <span>
          total <b className="mono">{formatDuration(total)}</b>
          {open ? ' so far' : ''}
        </span>
        {stages.length ? (
          <span className="stage-bar" aria-label="Seconds per stage">
            {stages.map(([name, s]) => (
              <span
                key={name}
                className={`stage-seg stage-${name}`}
                style={{ flexGrow: Math.max(s / (stageTotal || 1), 0.08) }}
                title={`${name}: ${formatDuration(s)}`}
              >
                {name} {formatDuration(s)}
              </span>
            ))}
          </span>
        ) : null}
      </div>
    </div>
  );
}
