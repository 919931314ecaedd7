/**
 * Where every Bronze row of each table went, as stacked bars drawn in SVG: Silver,
 * quarantine and duplicates removed, each bar the table's bronze_in. A table that does
 * not balance shows the gap in red.
 */
import { formatNumber, formatPercent } from '@/lib/format';

import type { TableLedger } from '../types';

export const SEGMENTS = [
  { key: 'silver_out', label: 'Silver', className: 'seg-silver' },
  { key: 'quarantined', label: 'quarantined', className: 'seg-quarantine' },
  { key: 'duplicates_removed', label: 'duplicates removed', className: 'seg-dup' },
] as const;

const LABEL_W = 120;
const BAR_W = 400;
const NUM_W = 160;
const ROW_H = 30;
const BAR_H = 16;
const TOP = 6;

export type LedgerChartProps = { tables: Record<string, TableLedger> };

/** x offsets and widths of each segment of one bar, in the chart's units. */
export function segmentWidths(t: TableLedger, width: number = BAR_W) {
  const parts = SEGMENTS.map((s) => ({ ...s, value: t[s.key] }));
  const sum = parts.reduce((n, p) => n + p.value, 0);
  const scale = Math.max(t.bronze_in, sum, 1);
  let x = 0;
  return parts.map((p) => {
    const w = (p.value / scale) * width;
    const seg = { ...p, x, width: w };
    x += w;
    return seg;
  });
}

export function LedgerChart({ tables }: LedgerChartProps) {
  const entries = Object.entries(tables);
  const height = TOP * 2 + entries.length * ROW_H;
  const width = LABEL_W + BAR_W + NUM_W;
  return (
    <figure className="ledger-chart">
      <div className="legend" aria-hidden="true">
        {SEGMENTS.map((s) => (
          <span key={s.key} className="legend-item">
            <span className={`swatch ${s.className}`} /> {s.label}
          </span>
        ))}
      </div>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        role="img"
        aria-label="Ledger: where the Bronze rows of each table went"
        preserveAspectRatio="xMinYMin meet"
      >
        {entries.map(([name, t], i) => {
          const y = TOP + i * ROW_H;
          const segs = segmentWidths(t);
          const accounted = t.silver_out + t.quarantined + t.duplicates_removed;
          const balanced = accounted === t.bronze_in;
          const filled = segs.reduce((n, s) => n + s.width, 0);
          return (
            <g key={name} data-table={name} transform={`translate(0, ${y})`}>
              <text x={LABEL_W - 10} y={BAR_H / 2 + 1} className="chart-label" textAnchor="end" dominantBaseline="middle">
                {name}
              </text>
              <rect x={LABEL_W} y={0} width={BAR_W} height={BAR_H} className="seg-track" />
              {segs.map((s) =>
                s.width > 0 ? (
                  <rect
                    key={s.key}
                    data-segment={s.key}
                    data-value={s.value}
                    x={LABEL_W + s.x}
                    y={0}
                    width={s.width}
                    height={BAR_H}
                    className={s.className}
                  >
                    <title>
                      {`${name}: ${formatNumber(s.value)} ${s.label} (${formatPercent(s.value / Math.max(t.bronze_in, 1))} of ${formatNumber(t.bronze_in)})`}
                    </title>
                  </rect>
                ) : null,
              )}
              {!balanced && filled < BAR_W ? (
                <rect data-segment="unaccounted" x={LABEL_W + filled} y={0} width={BAR_W - filled} height={BAR_H} className="seg-gap">
                  <title>{`${formatNumber(t.bronze_in - accounted)} rows unaccounted for`}</title>
                </rect>
              ) : null}
              <text x={LABEL_W + BAR_W + 10} y={BAR_H / 2 + 1} className="chart-num" dominantBaseline="middle">
                {formatNumber(t.bronze_in)} in
                <tspan className={balanced ? 'chart-ok' : 'chart-bad'} dx="8">
                  {balanced ? '✓ balanced' : `✗ off by ${formatNumber(t.bronze_in - accounted)}`}
                </tspan>
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
