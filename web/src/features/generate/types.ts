export type Preset = { name: string; tables: string[] };
export type PresetSpec = { name: string; yaml: string };

export type Dirt = 'none' | 'light' | 'default' | 'heavy';
export type BronzeFormat = 'parquet' | 'csv' | 'jsonl';

export type GenerateRequest = {
  preset: string | null;
  spec_yaml: string | null;
  rows: number | null;
  seed: number | null;
  dirt: Dirt;
  format: BronzeFormat;
  dataset: string | null;
  batch_id: string | null;
};

export type SpecValidation = { ok: true; name: string; tables: string[] };
