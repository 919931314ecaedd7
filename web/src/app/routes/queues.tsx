import { Section } from '@/components/section';
import { QueuesPanel } from '@/features/queues/components/queues-panel';
import { TriggersTable } from '@/features/queues/components/triggers-table';
import { useTitle } from '@/lib/use-title';

export function QueuesRoute() {
  useTitle('Queues & triggers');
  return (
    <div className="page">
      <div className="page-head">
        <h1 className="page-title">Queues &amp; triggers</h1>
        <p className="page-sub">
          small-queue takes batches up to the routing threshold, large-queue the rest. Triggers drain them on a schedule; drain
          one now here.
        </p>
      </div>
      <QueuesPanel />
      <Section title="Triggers">
        <TriggersTable />
      </Section>
    </div>
  );
}
