import { describe, expect, it } from 'vitest';

import { EnvError, parseEnv } from './env';

describe('parseEnv', () => {
  it('defaults to the same origin', () => {
    expect(parseEnv({})).toEqual({ apiBase: '' });
    expect(parseEnv({ VITE_API_BASE: '' })).toEqual({ apiBase: '' });
  });

  it('accepts a path or an http(s) URL, without the trailing slash', () => {
    expect(parseEnv({ VITE_API_BASE: '/udo/' })).toEqual({ apiBase: '/udo' });
    expect(parseEnv({ VITE_API_BASE: 'http://127.0.0.1:8000/' })).toEqual({ apiBase: 'http://127.0.0.1:8000' });
  });

  it('refuses anything else at start-up', () => {
    expect(() => parseEnv({ VITE_API_BASE: 'udo.local:8000' })).toThrow(EnvError);
    expect(() => parseEnv({ VITE_API_BASE: 'ftp://x' })).toThrow(/http or https/);
    expect(() => parseEnv({ VITE_API_BASE: 42 })).toThrow(EnvError);
  });
});
