import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

// kebab-case file and folder names under src/ (the style guide's rule)
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? [path, ...walk(path)] : [path];
  });
}

describe('file names', () => {
  it('are kebab-case', () => {
    const root = join(import.meta.dirname, '..', 'src');
    const bad = walk(root)
      .map((p) => p.slice(root.length + 1))
      .filter((p) => !p.split('/').every((part) => /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)*$/.test(part)));
    expect(bad).toEqual([]);
  });
});
