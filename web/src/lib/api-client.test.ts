import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { jsonResponse } from '@/testing/test-utils';

import { api, ApiError, apiUrl, parseError, request } from './api-client';
import { loadEnv } from './env';
import { setToken, TOKEN_KEY } from './token';

describe('api client', () => {
  const fetchMock = vi.fn<typeof fetch>();
  beforeEach(() => {
    loadEnv({});
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  const sentHeaders = () => (fetchMock.mock.calls[0][1]?.headers ?? {}) as Record<string, string>;

  it('sends no Authorization header without a token', async () => {
    fetchMock.mockResolvedValue(jsonResponse({ status: 'ok' }));
    await expect(api.get('/api/health')).resolves.toEqual({ status: 'ok' });
    expect(fetchMock.mock.calls[0][0]).toBe('/api/health');
    expect(sentHeaders().Authorization).toBeUndefined();
  });

  it("adds the bearer token stored in localStorage 'udo.token'", async () => {
    setToken('  abc.def  ');
    expect(localStorage.getItem(TOKEN_KEY)).toBe('abc.def');
    fetchMock.mockResolvedValue(jsonResponse([]));
    await api.get('/api/runs', { dataset: 'shop', status: undefined, limit: 50 });
    expect(fetchMock.mock.calls[0][0]).toBe('/api/runs?dataset=shop&limit=50');
    expect(sentHeaders().Authorization).toBe('Bearer abc.def');
  });

  it('sends JSON bodies with POST', async () => {
    fetchMock.mockResolvedValue(jsonResponse({ run_id: 'r1' }, 202));
    await api.post('/api/clean', { dataset: 'shop', batch_id: null, force: false });
    const init = fetchMock.mock.calls[0][1];
    expect(init?.method).toBe('POST');
    expect(sentHeaders()['Content-Type']).toBe('application/json');
    expect(JSON.parse(String(init?.body))).toEqual({ dataset: 'shop', batch_id: null, force: false });
  });

  it('parses the error shape into an ApiError with details', async () => {
    fetchMock.mockResolvedValue(
      jsonResponse(
        {
          error: {
            code: 'invalid_spec',
            message: '2 problems in the spec',
            details: [
              { loc: 'tables.orders.fields.total.min', message: 'must be a number', line: 12 },
              { loc: 'name', message: 'Field required', line: null },
            ],
          },
        },
        422,
      ),
    );
    const err = await api.post('/api/specs/validate', { yaml: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect([e.status, e.code, e.message]).toEqual([422, 'invalid_spec', '2 problems in the spec']);
    expect(e.details).toEqual([
      { loc: 'tables.orders.fields.total.min', message: 'must be a number', line: 12 },
      { loc: 'name', message: 'Field required', line: null },
    ]);
    expect(e.isClientError).toBe(true);
  });

  it('copes with errors that are not the JSON shape', async () => {
    const html = await parseError(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect([html.status, html.code, html.message, html.details]).toEqual([502, 'http_502', '502 Bad Gateway', []]);
    const text = await parseError(new Response('upstream timed out', { status: 504, statusText: 'Gateway Timeout' }));
    expect(text.message).toBe('Gateway Timeout: upstream timed out');
    const odd = await parseError(jsonResponse({ error: { message: 'no token' } }, 401));
    expect([odd.code, odd.message]).toEqual(['http_401', 'no token']);
  });

  it('turns a network failure into ApiError network_error', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    const err = (await request('/api/health').catch((e: unknown) => e)) as ApiError;
    expect([err.status, err.code]).toEqual([0, 'network_error']);
  });

  it('prefixes VITE_API_BASE', () => {
    loadEnv({ VITE_API_BASE: 'https://udo.example.com/' });
    expect(apiUrl('/api/runs', { limit: 5 })).toBe('https://udo.example.com/api/runs?limit=5');
  });
});
