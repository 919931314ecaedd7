/** The "Clean Data" button: route the batch by size and enqueue it; shows the decision. */
import { useState } from 'react';
import { Link } from 'react-router';

import { ErrorBox } from '@/components/error-box';
import { Pill } from '@/components/status-badge';
import { useToast } from '@/components/toast';
import { formatNumber } from '@/lib/format';

import { useCleanDataset } from '../api/clean-dataset';

export function CleanDataButton({ dataset, batchId }: { dataset: string; batchId: string | null }) {
  const clean = useCleanDataset();
  const [force, setForce] = useState(false);
  const toast = useToast();
  const result = clean.data;
  return (
    <div className="clean-data">
      <div className="clean-data-controls">
        <label className="check" title="Run again even if the same batch and rules already ran">
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> force
        </label>
        <button
          type="button"
          className="btn btn-primary"
          disabled={clean.isPending}
          onClick={() =>
            clean.mutate(
              { dataset, batch_id: batchId, force },
              {
                onSuccess: (r) =>
                  toast.show({
                    tone: 'info',
                    title: r.reused ? 'Already requested' : 'Clean requested',
                    body: `${dataset} / ${batchId ?? 'latest'} → ${r.route}-queue`,
                    duration: 5000,
                  }),
              },
            )
          }
        >
          {clean.isPending ? 'Requesting…' : 'Clean Data'}
        </button>
      </div>
      {clean.isError ? <ErrorBox error={clean.error} title="Clean Data failed" /> : null}
      {result ? (
        <div className="clean-result" data-testid="clean-result">
          <span>
            run{' '}
            <Link className="mono" to={`/runs/${encodeURIComponent(result.run_id)}`}>
              {result.run_id}
            </Link>
          </span>
          <span>
            route <Pill tone={result.route === 'small' ? 'info' : 'running'}>{result.route}</Pill>
          </span>
          <span>
            {formatNumber(result.records)} records / threshold {formatNumber(result.threshold)}
          </span>
          <span className="muted">{result.reason}</span>
          {result.reused ? <Pill tone="warn">reused: same batch and rules</Pill> : null}
          <span className="muted">status {result.status}</span>
        </div>
      ) : null}
    </div>
  );
}
