import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { StageTimeline } from './stage-timeline';

describe('StageTimeline', () => {
  it('shows each transition with its time and how long the run stayed there', () => {
    const { container } = render(
      <StageTimeline
        status="SUCCEEDED"
        stageSeconds={{ silver: 1.5, gold: 0.25 }}
        transitions={[
          { status: 'QUEUED', at: '2025-01-01T10:00:00.500Z', stage: null, detail: '1040 records <= 10000: small-queue' },
          { status: 'REQUESTED', at: '2025-01-01T10:00:00Z', stage: null, detail: null },
          { status: 'RUNNING', at: '2025-01-01T10:00:02Z', stage: 'silver orders', detail: null },
          { status: 'SUCCEEDED', at: '2025-01-01T10:01:05Z', stage: 'done', detail: null },
        ]}
      />,
    );
    const steps = [...container.querySelectorAll('.timeline-step')];
    expect(steps.map((s) => s.querySelector('.badge')?.textContent)).toEqual(['requested', 'queued', 'running', 'succeeded']);
    expect(steps.map((s) => s.querySelector('.timeline-dur')?.textContent)).toEqual(['500 ms', '1.50 s', '1 m 3 s', '']);
    expect(steps[0].querySelector('time')?.textContent).toBe('2025-01-01 10:00:00 UTC');
    expect(screen.getByText('silver orders')).toBeTruthy();
    expect(container.querySelector('.timeline-summary')?.textContent).toContain('total 1 m 5 s');
    expect(screen.getByTitle('silver: 1.50 s')).toBeTruthy();
  });

  it('counts the open step up to now while the run is not finished', () => {
    const { container } = render(
      <StageTimeline
        status="RUNNING"
        now={Date.parse('2025-01-01T10:00:12Z')}
        transitions={[{ status: 'RUNNING', at: '2025-01-01T10:00:02Z', stage: 'gold daily_sales', detail: null }]}
      />,
    );
    expect(container.querySelector('.timeline-dur')?.textContent).toBe('10.0 s…');
    expect(container.querySelector('.timeline-summary')?.textContent).toContain('so far');
  });
});
