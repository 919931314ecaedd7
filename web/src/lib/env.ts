/**
 * Build-time environment, checked once at start-up (main.tsx calls `loadEnv`).
 *
 * VITE_API_BASE: where the API lives. '' (the default) means the same origin as the UI,
 * which is how `udo up` serves it (UI at /, API under /api). Otherwise an absolute
 * http(s) URL or a path starting with '/', without a trailing slash.
 */
export type Env = {
  apiBase: string;
};

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

export function parseEnv(raw: Record<string, unknown>): Env {
  const value = raw.VITE_API_BASE;
  if (value === undefined || value === null || value === '') return { apiBase: '' };
  if (typeof value !== 'string') {
    throw new EnvError('VITE_API_BASE must be a string');
  }
  const base = value.trim().replace(/\/+$/, '');
  if (base === '') return { apiBase: '' };
  if (base.startsWith('/')) return { apiBase: base };
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new EnvError(
      `VITE_API_BASE must be '' (same origin), a path like /udo or an http(s) URL; got "${value}"`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EnvError(`VITE_API_BASE must use http or https; got "${value}"`);
  }
  return { apiBase: base };
}

let current: Env | null = null;

/** Validate import.meta.env; throws an EnvError with a readable message. */
export function loadEnv(raw: Record<string, unknown> = import.meta.env): Env {
  current = parseEnv(raw);
  return current;
}

export function env(): Env {
  return current ?? loadEnv();
}
