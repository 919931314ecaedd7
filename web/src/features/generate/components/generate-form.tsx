/**
 * The Generate page: preset, size, seed, dirt and format; the spec as YAML (preloaded
 * from the preset, editable); Validate and Generate.
 */
import { useState, type FormEvent } from 'react';

import { ErrorBox } from '@/components/error-box';
import { LandedBatchSummary } from '@/components/landed-batch';
import { Section } from '@/components/section';
import { ApiError, type ErrorDetail } from '@/lib/api-client';

import { useGenerateDataset } from '../api/generate-dataset';
import { usePreset } from '../api/get-preset';
import { usePresets } from '../api/get-presets';
import { useValidateSpec } from '../api/validate-spec';
import type { BronzeFormat, Dirt, GenerateRequest, SpecValidation } from '../types';
import { SpecEditor } from './spec-editor';

const CUSTOM = '';
const DIRT: { value: Dirt; label: string }[] = [
  { value: 'none', label: 'none — clean data' },
  { value: 'light', label: 'light' },
  { value: 'default', label: 'default' },
  { value: 'heavy', label: 'heavy' },
];
const FORMATS: BronzeFormat[] = ['parquet', 'csv', 'jsonl'];

function parseOptionalInt(text: string, what: string, min: number): number | null {
  const t = text.trim().replace(/[_,\s]/g, '');
  if (!t) return null;
  if (!/^-?\d+$/.test(t)) throw new Error(`${what} must be a whole number`);
  const n = Number(t);
  if (n < min) throw new Error(`${what} must be at least ${min}`);
  return n;
}

type Validation = { state: 'ok'; result: SpecValidation } | { state: 'errors'; errors: ErrorDetail[] } | null;

export function GenerateForm() {
  const presets = usePresets();
  const [chosen, setChosen] = useState<string | null>(null);
  const preset = chosen ?? presets.data?.[0]?.name ?? null;
  const presetSpec = usePreset(preset || null);
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [rows, setRows] = useState('');
  const [seed, setSeed] = useState('');
  const [dirt, setDirt] = useState<Dirt>('default');
  const [format, setFormat] = useState<BronzeFormat>('parquet');
  const [dataset, setDataset] = useState('');
  const [batchId, setBatchId] = useState('');
  const [validation, setValidation] = useState<Validation>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const validate = useValidateSpec();
  const generate = useGenerateDataset();

  const key = preset ?? CUSTOM;
  const original = preset ? (presetSpec.data?.yaml ?? '') : '';
  const yaml = edits[key] ?? original;
  const edited = key in edits && edits[key] !== original;
  const usesPreset = Boolean(preset) && !edited;

  const onValidate = () => {
    setValidation(null);
    validate.mutate(yaml, {
      onSuccess: (result) => setValidation({ state: 'ok', result }),
      onError: (err) =>
        setValidation(err instanceof ApiError && err.details.length ? { state: 'errors', errors: err.details } : null),
    });
  };

  const onGenerate = (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    let body: GenerateRequest;
    try {
      body = {
        preset: usesPreset ? preset : null,
        spec_yaml: usesPreset ? null : yaml,
        rows: parseOptionalInt(rows, 'Rows', 1),
        seed: parseOptionalInt(seed, 'Seed', 0),
        dirt,
        format,
        dataset: dataset.trim() || null,
        batch_id: batchId.trim() || null,
      };
    } catch (err) {
      setFormError((err as Error).message);
      return;
    }
    if (!body.preset && !body.spec_yaml?.trim()) {
      setFormError('Pick a preset or write a spec');
      return;
    }
    generate.mutate(body, {
      onError: (err) => {
        if (err instanceof ApiError && err.status === 422 && err.details.some((d) => d.line)) {
          setValidation({ state: 'errors', errors: err.details });
        }
      },
    });
  };

  const errors = validation?.state === 'errors' ? validation.errors : [];
  const busy = generate.isPending;

  return (
    <div className="generate">
      <form className="generate-grid" onSubmit={onGenerate} aria-label="Generate a batch">
        <Section title="Batch" className="generate-settings">
          <div className="form-grid">
            <label className="field">
              <span>Preset</span>
              <select
                value={preset ?? CUSTOM}
                onChange={(e) => {
                  setChosen(e.target.value);
                  setValidation(null);
                }}
                disabled={presets.isLoading}
              >
                {presets.data?.map((p) => (
                  <option key={p.name} value={p.name}>
                    {p.name}
                  </option>
                ))}
                <option value={CUSTOM}>(custom spec)</option>
              </select>
              {preset && presets.data ? (
                <small className="muted">
                  tables: {presets.data.find((p) => p.name === preset)?.tables.join(', ')}
                </small>
              ) : null}
            </label>
            <label className="field">
              <span>Rows</span>
              <input
                inputMode="numeric"
                placeholder="spec default"
                value={rows}
                onChange={(e) => setRows(e.target.value)}
              />
              <small className="muted">of the primary table; others scale</small>
            </label>
            <label className="field">
              <span>Seed</span>
              <input inputMode="numeric" placeholder="spec default" value={seed} onChange={(e) => setSeed(e.target.value)} />
            </label>
            <label className="field">
              <span>Dirt profile</span>
              <select value={dirt} onChange={(e) => setDirt(e.target.value as Dirt)}>
                {DIRT.map((d) => (
                  <option key={d.value} value={d.value}>
                    {d.label}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Format</span>
              <select value={format} onChange={(e) => setFormat(e.target.value as BronzeFormat)}>
                {FORMATS.map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Dataset name</span>
              <input placeholder="spec name" value={dataset} onChange={(e) => setDataset(e.target.value)} className="mono" />
            </label>
            <label className="field">
              <span>Batch id</span>
              <input placeholder="generated" value={batchId} onChange={(e) => setBatchId(e.target.value)} className="mono" />
            </label>
          </div>
          {formError ? (
            <p className="form-error" role="alert">
              {formError}
            </p>
          ) : null}
          <div className="form-actions">
            <button type="button" className="btn" onClick={onValidate} disabled={validate.isPending || !yaml.trim()}>
              {validate.isPending ? 'Validating…' : 'Validate'}
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Generating…' : 'Generate'}
            </button>
          </div>
        </Section>

        <Section
          title="Spec"
          className="generate-spec"
          actions={
            <>
              {usesPreset ? (
                <span className="muted">preset {preset}: generated as is</span>
              ) : preset ? (
                <span className="badge badge-warn">edited: this YAML is sent</span>
              ) : null}
              {edited ? (
                <button
                  type="button"
                  className="btn btn-small"
                  onClick={() => {
                    setEdits(({ [key]: _dropped, ...rest }) => rest);
                    setValidation(null);
                  }}
                >
                  Reset to preset
                </button>
              ) : null}
            </>
          }
        >
          {presetSpec.isError ? <ErrorBox error={presetSpec.error} title="Could not load the preset" /> : null}
          <SpecEditor
            value={yaml}
            onChange={(v) => setEdits((all) => ({ ...all, [key]: v }))}
            errors={errors}
            disabled={Boolean(preset) && presetSpec.isLoading}
          />
          {validation?.state === 'ok' ? (
            <p className="validation-ok" role="status">
              ✓ Valid spec <b className="mono">{validation.result.name}</b> — tables {validation.result.tables.join(', ')}
            </p>
          ) : null}
          {validate.isError && validation === null ? <ErrorBox error={validate.error} title="Validation failed" /> : null}
        </Section>
      </form>
      {presets.isError ? <ErrorBox error={presets.error} title="Could not load presets" onRetry={() => presets.refetch()} /> : null}
      {generate.isError ? <ErrorBox error={generate.error} title="Generate failed" /> : null}
      {generate.data ? <LandedBatchSummary batch={generate.data} title="Generated" /> : null}
    </div>
  );
}
