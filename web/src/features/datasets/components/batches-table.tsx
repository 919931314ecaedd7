import { Pill } from '@/components/status-badge';
import { Table } from '@/components/table';
import { formatNumber, formatRelative, formatTime } from '@/lib/format';

import { sortBatches, type BatchSummary } from '../types';

type Props = {
  batches: BatchSummary[];
  selected: string | null;
  onSelect: (batchId: string) => void;
};

export function BatchesTable({ batches, selected, onSelect }: Props) {
  return (
    <Table<BatchSummary>
      label="Batches"
      rows={sortBatches(batches)}
      rowKey={(b) => b.batch_id}
      pageSize={10}
      onRowClick={(b) => onSelect(b.batch_id)}
      rowClassName={(b) => (b.batch_id === selected ? 'is-selected' : undefined)}
      empty="No batches landed yet"
      columns={[
        {
          key: 'pick',
          header: '',
          width: '2rem',
          render: (b) => (
            <input
              type="radio"
              name="batch"
              aria-label={`Select batch ${b.batch_id}`}
              checked={b.batch_id === selected}
              onChange={() => onSelect(b.batch_id)}
            />
          ),
        },
        { key: 'batch_id', header: 'batch', mono: true },
        {
          key: 'origin',
          header: 'origin',
          render: (b) => <Pill tone={b.origin === 'generated' ? 'info' : 'neutral'}>{b.origin}</Pill>,
        },
        { key: 'records', header: 'records', align: 'right', render: (b) => formatNumber(b.records) },
        {
          key: 'created_at',
          header: 'landed',
          render: (b) => (
            <span title={formatRelative(b.created_at)} className="mono">
              {formatTime(b.created_at)}
            </span>
          ),
        },
      ]}
    />
  );
}
