import { useState } from 'react';

import { Section } from '@/components/section';
import { RunsTable } from '@/features/runs/components/runs-table';
import { RUN_STATUSES } from '@/features/runs/types';
import { useTitle } from '@/lib/use-title';

export function RunsRoute() {
  useTitle('Runs');
  const [dataset, setDataset] = useState('');
  const [status, setStatus] = useState('');
  const [applied, setApplied] = useState('');
  return (
    <div className="page">
      <div className="page-head">
        <h1 className="page-title">Runs</h1>
        <p className="page-sub">Cleaning runs, updated live from the event stream.</p>
      </div>
      <Section
        title="Runs"
        actions={
          <form
            className="filters"
            onSubmit={(e) => {
              e.preventDefault();
              setApplied(dataset.trim());
            }}
          >
            <input
              aria-label="Filter by dataset"
              className="mono"
              placeholder="dataset"
              value={dataset}
              onChange={(e) => setDataset(e.target.value)}
              onBlur={() => setApplied(dataset.trim())}
            />
            <select aria-label="Filter by status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">any status</option>
              {RUN_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </form>
        }
      >
        <RunsTable params={{ dataset: applied || undefined, status: status || undefined, limit: 200 }} />
      </Section>
    </div>
  );
}
