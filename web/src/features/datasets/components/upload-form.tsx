/** Land your own files as a new batch (multipart POST /api/datasets/{dataset}/upload). */
import { useRef, useState, type FormEvent } from 'react';

import { ErrorBox } from '@/components/error-box';
import { LandedBatchSummary, type LandedBatch } from '@/components/landed-batch';
import { ApiError } from '@/lib/api-client';
import { formatBytes } from '@/lib/format';

import { useUploadFiles } from '../api/upload-files';

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

type Props = {
  /** The dataset to add to; without it the form asks for a name. */
  dataset?: string;
  onUploaded?: (batch: LandedBatch) => void;
};

export function UploadForm({ dataset, onUploaded }: Props) {
  const [name, setName] = useState('');
  const [batchId, setBatchId] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const upload = useUploadFiles();
  const target = dataset ?? name.trim();

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    if (!NAME_RE.test(target)) {
      setProblem('Dataset names start with a letter and use letters, digits, _ and - (at most 63).');
      return;
    }
    if (batchId.trim() && !NAME_RE.test(batchId.trim())) {
      setProblem('Batch ids follow the same rule as dataset names.');
      return;
    }
    if (files.length === 0) {
      setProblem('Choose one or more files (CSV, JSON lines, Parquet).');
      return;
    }
    upload.mutate(
      { dataset: target, files, batchId: batchId.trim() || null },
      {
        onSuccess: (batch) => {
          setFiles([]);
          if (input.current) input.current.value = '';
          onUploaded?.(batch);
        },
      },
    );
  };

  return (
    <form className="upload-form" onSubmit={onSubmit} aria-label="Upload files">
      <div className="form-row">
        {dataset ? null : (
          <label className="field">
            <span>Dataset</span>
            <input className="mono" value={name} onChange={(e) => setName(e.target.value)} placeholder="shop" />
          </label>
        )}
        <label className="field field-grow">
          <span>Files</span>
          <input
            ref={input}
            type="file"
            multiple
            accept=".csv,.tsv,.jsonl,.ndjson,.json,.parquet,.gz"
            onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
          />
        </label>
        <label className="field">
          <span>Batch id</span>
          <input className="mono" value={batchId} onChange={(e) => setBatchId(e.target.value)} placeholder="generated" />
        </label>
        <button type="submit" className="btn btn-primary" disabled={upload.isPending}>
          {upload.isPending ? 'Uploading…' : 'Upload'}
        </button>
      </div>
      {files.length ? (
        <p className="muted small">
          {files.map((f) => `${f.name} (${formatBytes(f.size)})`).join(', ')}
        </p>
      ) : null}
      {problem ? (
        <p className="form-error" role="alert">
          {problem}
        </p>
      ) : null}
      {upload.isError ? (
        <ErrorBox
          error={upload.error}
          title={upload.error instanceof ApiError && upload.error.status === 413 ? 'File too large' : 'Upload failed'}
        />
      ) : null}
      {upload.data ? <LandedBatchSummary batch={upload.data} title="Uploaded" /> : null}
    </form>
  );
}
