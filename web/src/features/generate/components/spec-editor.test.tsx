import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { SpecEditor } from './spec-editor';

const YAML = ['spec_version: 1', 'name: shop', 'tables:', '  orders:', '    rows: -5', '    fields: {}'].join('\n');

describe('SpecEditor', () => {
  it('numbers every line', () => {
    const { container } = render(<SpecEditor value={YAML} onChange={() => {}} />);
    expect(container.querySelectorAll('.code-gutter .ln')).toHaveLength(6);
    expect(container.querySelector('.ln-error')).toBeNull();
    expect(screen.queryByRole('list', { name: 'Spec errors' })).toBeNull();
  });

  it('marks the line of each error and lists loc: message', () => {
    const errors = [
      { loc: 'tables.orders.rows', message: 'Input should be greater than 0', line: 5 },
      { loc: 'spec_version', message: 'unsupported', line: 1 },
      { loc: 'primary', message: 'Field required', line: null },
    ];
    const { container } = render(<SpecEditor value={YAML} onChange={() => {}} errors={errors} />);
    const marked = [...container.querySelectorAll('.code-gutter .ln-error')].map((el) => el.getAttribute('data-line'));
    expect(marked).toEqual(['1', '5']);
    expect(container.querySelector('[data-line="5"]')?.getAttribute('title')).toBe(
      'tables.orders.rows: Input should be greater than 0',
    );
    expect(container.querySelectorAll('.code-band')).toHaveLength(2);

    const list = screen.getByRole('list', { name: 'Spec errors' });
    expect(within(list).getByText('3 problems in the spec', { exact: false })).toBeTruthy();
    const items = within(list).getAllByRole('listitem').slice(1);
    expect(items.map((li) => li.textContent)).toEqual([
      'line 5tables.orders.rows: Input should be greater than 0',
      'line 1spec_version: unsupported',
      'no lineprimary: Field required',
    ]);
  });

  it('puts the cursor on the line of an error when it is clicked', () => {
    render(
      <SpecEditor value={YAML} onChange={() => {}} errors={[{ loc: 'tables.orders.rows', message: 'bad', line: 5 }]} />,
    );
    fireEvent.click(screen.getByRole('button', { name: 'line 5' }));
    const ta = screen.getByLabelText('Spec (YAML)') as HTMLTextAreaElement;
    expect(document.activeElement).toBe(ta);
    expect(YAML.slice(ta.selectionStart, ta.selectionEnd)).toBe('    rows: -5');
  });

  it('reports edits', () => {
    const onChange = vi.fn();
    render(<SpecEditor value={YAML} onChange={onChange} />);
    fireEvent.change(screen.getByLabelText('Spec (YAML)'), { target: { value: 'name: x' } });
    expect(onChange).toHaveBeenCalledWith('name: x');
  });
});
