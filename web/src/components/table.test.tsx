import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { Table, type Column } from './table';

type Row = { id: number; name: string };
const rows: Row[] = Array.from({ length: 23 }, (_, i) => ({ id: i + 1, name: `row-${i + 1}` }));
const columns: Column<Row>[] = [
  { key: 'id', header: 'id', align: 'right' },
  { key: 'name', header: 'name', mono: true },
];

function bodyRows() {
  return within(screen.getByRole('table')).getAllByRole('row').slice(1); // minus the header
}

describe('Table', () => {
  it('pages in memory with pageSize', () => {
    render(<Table label="t" rows={rows} columns={columns} pageSize={10} rowKey={(r) => String(r.id)} />);
    expect(bodyRows()).toHaveLength(10);
    expect(screen.getByText('Rows 1–10 of 23')).toBeTruthy();
    expect(screen.getByText('Page 1 / 3')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Previous page' }) as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(bodyRows()[0].textContent).toContain('row-11');
    expect(screen.getByText('Rows 11–20 of 23')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Last page' }));
    expect(bodyRows()).toHaveLength(3);
    expect(screen.getByText('Rows 21–23 of 23')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Next page' }) as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'First page' }));
    expect(bodyRows()[0].textContent).toContain('row-1');
  });

  it('has no pager when everything fits', () => {
    render(<Table label="t" rows={rows.slice(0, 5)} columns={columns} pageSize={10} />);
    expect(bodyRows()).toHaveLength(5);
    expect(screen.queryByRole('navigation', { name: 'Pages' })).toBeNull();
  });

  it('pages on the server: shows the given page and asks for offsets', () => {
    const onChange = vi.fn();
    const onLimitChange = vi.fn();
    render(
      <Table
        label="t"
        rows={rows.slice(0, 10)}
        columns={columns}
        paging={{ offset: 50, limit: 10, total: 1234, onChange, onLimitChange }}
      />,
    );
    expect(screen.getByText('Rows 51–60 of 1,234')).toBeTruthy();
    expect(screen.getByText('Page 6 / 124')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(onChange).toHaveBeenLastCalledWith(60);
    fireEvent.click(screen.getByRole('button', { name: 'Previous page' }));
    expect(onChange).toHaveBeenLastCalledWith(40);
    fireEvent.click(screen.getByRole('button', { name: 'Last page' }));
    expect(onChange).toHaveBeenLastCalledWith(1230);
    fireEvent.change(screen.getByRole('combobox'), { target: { value: '100' } });
    expect(onLimitChange).toHaveBeenCalledWith(100);
  });

  it('shows the empty message and renders nulls', () => {
    const { rerender } = render(<Table label="t" rows={[]} columns={columns} empty="Nothing here" />);
    expect(screen.getByText('Nothing here')).toBeTruthy();
    rerender(<Table label="t" rows={[{ id: 1, name: null as unknown as string }]} columns={columns} />);
    expect(screen.getByText('null').className).toBe('null');
  });

  it('calls onRowClick', () => {
    const onRowClick = vi.fn();
    render(<Table label="t" rows={rows.slice(0, 2)} columns={columns} onRowClick={onRowClick} />);
    fireEvent.click(screen.getByText('row-2'));
    expect(onRowClick).toHaveBeenCalledWith(rows[1]);
  });
});
