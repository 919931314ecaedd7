import { Link, useParams, useSearchParams } from 'react-router';

import { ErrorBox } from '@/components/error-box';
import { Empty, Loading, Section } from '@/components/section';
import { useDatasets } from '@/features/datasets/api/get-datasets';
import { useManifest } from '@/features/datasets/api/get-manifest';
import { BatchManifest } from '@/features/datasets/components/batch-manifest';
import { BatchesTable } from '@/features/datasets/components/batches-table';
import { CleanDataButton } from '@/features/datasets/components/clean-data';
import { LayerBrowser } from '@/features/datasets/components/layer-browser';
import { UploadForm } from '@/features/datasets/components/upload-form';
import { sortBatches } from '@/features/datasets/types';
import { RunsTable } from '@/features/runs/components/runs-table';
import { useTitle } from '@/lib/use-title';

export function DatasetRoute() {
  const { name = '' } = useParams();
  useTitle(name);
  const [params, setParams] = useSearchParams();
  const datasets = useDatasets();
  const dataset = datasets.data?.find((d) => d.name === name);
  const batches = dataset ? sortBatches(dataset.batches) : [];
  const wanted = params.get('batch');
  const batchId = batches.find((b) => b.batch_id === wanted)?.batch_id ?? batches[0]?.batch_id ?? null;
  const manifest = useManifest(name, batchId);
  const tables = Object.keys(manifest.data?.tables ?? {});
  const marts = (manifest.data?.spec?.marts ?? []).map((m) => m.name);

  const selectBatch = (id: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        next.set('batch', id);
        return next;
      },
      { replace: true },
    );

  if (datasets.isLoading) return <Loading />;
  if (datasets.isError) return <ErrorBox error={datasets.error} title="Could not list datasets" />;
  if (!dataset) {
    return (
      <div className="page">
        <Empty>
          No dataset <span className="mono">{name}</span>. <Link to="/datasets">All datasets</Link>
        </Empty>
      </div>
    );
  }

  return (
    <div className="page">
      <div className="page-head page-head-row">
        <div>
          <div className="crumbs">
            <Link to="/datasets">Datasets</Link> /
          </div>
          <h1 className="page-title mono">{name}</h1>
          <p className="page-sub">
            {batches.length} batch{batches.length === 1 ? '' : 'es'}
            {batchId ? (
              <>
                {' '}
                · selected <span className="mono">{batchId}</span>
              </>
            ) : null}
          </p>
        </div>
        <CleanDataButton dataset={name} batchId={batchId} />
      </div>

      <div className="grid-2">
        <Section title="Batches">
          <BatchesTable batches={batches} selected={batchId} onSelect={selectBatch} />
        </Section>
        <Section title={batchId ? `Batch ${batchId}` : 'Batch'}>
          {batchId ? <BatchManifest dataset={name} batchId={batchId} /> : <Empty>No batch selected.</Empty>}
        </Section>
      </div>

      <Section title="Data">
        <LayerBrowser dataset={name} batchId={batchId} tables={tables} marts={marts} />
      </Section>

      <Section title="Runs of this dataset">
        <RunsTable params={{ dataset: name, limit: 50 }} compact pageSize={10} empty="No runs of this dataset yet: press Clean Data." />
      </Section>

      <Section title="Upload files as a new batch">
        <UploadForm dataset={name} onUploaded={(b) => selectBatch(b.batch_id)} />
      </Section>
    </div>
  );
}
