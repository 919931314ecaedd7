import { render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { LedgerChart, segmentWidths } from './ledger-chart';

const width = (el: Element | null) => Number(el?.getAttribute('width'));
const x = (el: Element | null) => Number(el?.getAttribute('x'));

describe('LedgerChart', () => {
  it('draws each outcome in proportion to bronze_in', () => {
    const { container } = render(
      <LedgerChart
        tables={{
          orders: { bronze_in: 1000, silver_out: 700, quarantined: 200, duplicates_removed: 100 },
          customers: { bronze_in: 50, silver_out: 50, quarantined: 0, duplicates_removed: 0 },
        }}
      />,
    );
    const orders = container.querySelector('g[data-table="orders"]');
    const silver = orders?.querySelector('[data-segment="silver_out"]') ?? null;
    const quarantined = orders?.querySelector('[data-segment="quarantined"]') ?? null;
    const dups = orders?.querySelector('[data-segment="duplicates_removed"]') ?? null;
    const full = width(orders?.querySelector('.seg-track') ?? null);
    expect(width(silver) / full).toBeCloseTo(0.7);
    expect(width(quarantined) / full).toBeCloseTo(0.2);
    expect(width(dups) / full).toBeCloseTo(0.1);
    // stacked: each segment starts where the previous one ends
    expect(x(quarantined)).toBeCloseTo(x(silver) + width(silver));
    expect(x(dups)).toBeCloseTo(x(quarantined) + width(quarantined));
    expect(orders?.textContent).toContain('✓ balanced');

    // bars are per table: a small table that all went to Silver fills its bar
    const customers = container.querySelector('g[data-table="customers"]');
    expect(width(customers?.querySelector('[data-segment="silver_out"]') ?? null)).toBeCloseTo(full);
    expect(customers?.querySelector('[data-segment="quarantined"]')).toBeNull();
  });

  it('shows the gap of a table that does not balance', () => {
    const { container } = render(
      <LedgerChart tables={{ items: { bronze_in: 100, silver_out: 60, quarantined: 20, duplicates_removed: 0 } }} />,
    );
    const gap = container.querySelector('[data-segment="unaccounted"]');
    const full = width(container.querySelector('.seg-track'));
    expect(width(gap) / full).toBeCloseTo(0.2);
    expect(container.textContent).toContain('✗ off by 20');
  });

  it('segmentWidths never overflows the bar', () => {
    const segs = segmentWidths({ bronze_in: 10, silver_out: 10, quarantined: 10, duplicates_removed: 0 }, 100);
    expect(segs.reduce((n, s) => n + s.width, 0)).toBeCloseTo(100);
    expect(segmentWidths({ bronze_in: 0, silver_out: 0, quarantined: 0, duplicates_removed: 0 }, 100).every((s) => s.width === 0)).toBe(true);
  });
});
