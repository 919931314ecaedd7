import { useNavigate } from 'react-router';

import { Section } from '@/components/section';
import { DatasetsTable } from '@/features/datasets/components/datasets-table';
import { UploadForm } from '@/features/datasets/components/upload-form';
import { useTitle } from '@/lib/use-title';

export function DatasetsRoute() {
  useTitle('Datasets');
  const navigate = useNavigate();
  return (
    <div className="page">
      <div className="page-head">
        <h1 className="page-title">Datasets</h1>
        <p className="page-sub">Every dataset landed in the lake, with its batches.</p>
      </div>
      <Section title="Datasets">
        <DatasetsTable />
      </Section>
      <Section title="Upload files as a new batch">
        <UploadForm
          onUploaded={(b) =>
            navigate(`/datasets/${encodeURIComponent(b.dataset)}?batch=${encodeURIComponent(b.batch_id)}`)
          }
        />
      </Section>
    </div>
  );
}
