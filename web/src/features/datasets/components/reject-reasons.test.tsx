import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { RejectReasons, toReasons } from './reject-reasons';

describe('RejectReasons', () => {
  it('reads lists, JSON text and separated text', () => {
    expect(toReasons(['a.not_null', 'b.fk'])).toEqual(['a.not_null', 'b.fk']);
    expect(toReasons('["a.not_null","b.fk"]')).toEqual(['a.not_null', 'b.fk']);
    expect(toReasons("['a.not_null', 'b.fk']")).toEqual(['a.not_null', 'b.fk']);
    expect(toReasons('a.not_null, b.fk')).toEqual(['a.not_null', 'b.fk']);
    expect(toReasons(null)).toEqual([]);
  });

  it('shows one chip per rule', () => {
    render(<RejectReasons value={['orders.customer_id.fk', 'orders.total.min']} />);
    expect(screen.getByText('orders.customer_id.fk').className).toContain('chip');
    expect(screen.getByText('orders.total.min').className).toContain('chip');
  });
});
