import { GenerateForm } from '@/features/generate/components/generate-form';
import { useTitle } from '@/lib/use-title';

export function GenerateRoute() {
  useTitle('Generate');
  return (
    <div className="page">
      <div className="page-head">
        <h1 className="page-title">Generate</h1>
        <p className="page-sub">Make a synthetic batch from a preset or your own spec, with ground-truth dirt, and land it in Bronze.</p>
      </div>
      <GenerateForm />
    </div>
  );
}
