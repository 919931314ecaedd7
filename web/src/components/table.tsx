/**
 * A dense data table with paging: in memory (`pageSize`) or on the server (`paging`).
 */
import { useState, type ReactNode } from 'react';

import { formatNumber } from '@/lib/format';

export type Column<T> = {
  key: string;
  header: ReactNode;
  /** Small second line in the header (a column type, a unit). */
  subheader?: ReactNode;
  render?: (row: T, index: number) => ReactNode;
  align?: 'left' | 'right' | 'center';
  mono?: boolean;
  width?: string;
};

export type Paging = {
  offset: number;
  limit: number;
  total: number;
  onChange: (offset: number) => void;
  onLimitChange?: (limit: number) => void;
  limits?: number[];
};

type TableProps<T> = {
  columns: Column<T>[];
  rows: T[];
  rowKey?: (row: T, index: number) => string;
  /** Page in memory with this many rows a page. */
  pageSize?: number;
  /** Page on the server: rows are the current page. */
  paging?: Paging;
  empty?: ReactNode;
  caption?: ReactNode;
  loading?: boolean;
  onRowClick?: (row: T) => void;
  rowClassName?: (row: T) => string | undefined;
  label?: string;
};

function cellValue<T>(row: T, key: string): ReactNode {
  const value = (row as Record<string, unknown>)[key];
  if (value === null || value === undefined) return <span className="null">null</span>;
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'boolean') return String(value);
  return value as ReactNode;
}

export function Table<T>({
  columns,
  rows,
  rowKey,
  pageSize,
  paging,
  empty = 'No rows',
  caption,
  loading = false,
  onRowClick,
  rowClassName,
  label,
}: TableProps<T>) {
  const [localOffset, setLocalOffset] = useState(0);
  let visible = rows;
  let pager: Paging | null = paging ?? null;
  if (!paging && pageSize && rows.length > pageSize) {
    const lastStart = Math.max(0, Math.floor((rows.length - 1) / pageSize) * pageSize);
    const offset = Math.min(localOffset, lastStart);
    visible = rows.slice(offset, offset + pageSize);
    pager = { offset, limit: pageSize, total: rows.length, onChange: setLocalOffset };
  }
  const firstIndex = pager ? pager.offset : 0;
  return (
    <div className={`table-wrap${loading ? ' is-loading' : ''}`}>
      <div className="table-scroll">
        <table className="data-table" aria-label={label} aria-busy={loading || undefined}>
          {caption ? <caption>{caption}</caption> : null}
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.key} className={`align-${c.align ?? 'left'}`} style={{ width: c.width }} scope="col">
                  <span className="th-name">{c.header}</span>
                  {c.subheader ? <span className="th-sub">{c.subheader}</span> : null}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {visible.length === 0 ? (
              <tr>
                <td className="empty" colSpan={columns.length}>
                  {loading ? 'Loading…' : empty}
                </td>
              </tr>
            ) : (
              visible.map((row, i) => (
                <tr
                  key={rowKey ? rowKey(row, firstIndex + i) : firstIndex + i}
                  className={[onRowClick ? 'clickable' : '', rowClassName?.(row) ?? ''].join(' ').trim() || undefined}
                  onClick={onRowClick ? () => onRowClick(row) : undefined}
                >
                  {columns.map((c) => (
                    <td key={c.key} className={`align-${c.align ?? 'left'}${c.mono ? ' mono' : ''}`}>
                      {c.render ? c.render(row, firstIndex + i) : cellValue(row, c.key)}
                    </td>
                  ))}
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {pager ? <Pager {...pager} /> : null}
    </div>
  );
}

export function Pager({ offset, limit, total, onChange, onLimitChange, limits = [25, 50, 100, 250, 500] }: Paging) {
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  const go = (p: number) => onChange(Math.max(0, Math.min(pages - 1, p - 1)) * limit);
  return (
    <div className="pager" role="navigation" aria-label="Pages">
      <span className="pager-range">
        Rows {formatNumber(from)}–{formatNumber(to)} of {formatNumber(total)}
      </span>
      <span className="pager-buttons">
        {onLimitChange ? (
          <label className="pager-limit">
            per page{' '}
            <select value={limit} onChange={(e) => onLimitChange(Number(e.target.value))}>
              {limits.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <button type="button" className="btn btn-small" onClick={() => go(1)} disabled={page <= 1} aria-label="First page">
          «
        </button>
        <button type="button" className="btn btn-small" onClick={() => go(page - 1)} disabled={page <= 1} aria-label="Previous page">
          ‹ Prev
        </button>
        <span className="pager-page">
          Page {formatNumber(page)} / {formatNumber(pages)}
        </span>
        <button type="button" className="btn btn-small" onClick={() => go(page + 1)} disabled={page >= pages} aria-label="Next page">
          Next ›
        </button>
        <button type="button" className="btn btn-small" onClick={() => go(pages)} disabled={page >= pages} aria-label="Last page">
          »
        </button>
      </span>
    </div>
  );
}
