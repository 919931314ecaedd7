import * as signalr from '@microsoft/signalr';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { createHubConnection } from './signalr-hub';

// The real @microsoft/signalr client; only fetch is stubbed, so nothing leaves the test.
describe('createHubConnection', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('builds the connection with withCredentials: false and the bearer token', async () => {
    const withUrl = vi.spyOn(signalr.HubConnectionBuilder.prototype, 'withUrl');
    const hub = await createHubConnection('https://api.example.test/api', () => 'tok');
    expect(withUrl).toHaveBeenCalledTimes(1);
    const [url, options] = withUrl.mock.calls[0] as [string, signalr.IHttpConnectionOptions];
    expect(url).toBe('https://api.example.test/api');
    expect(options.withCredentials).toBe(false);
    expect(options.accessTokenFactory?.()).toBe('tok');
    expect(hub).toBeInstanceOf(signalr.HubConnection);
  });

  it('negotiates without credentials: "include", which a cross-origin API refuses', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined); // the client logs the refusal
    const fetchSpy = vi.fn(async (_url: string, _init: RequestInit) => new Response('no token', { status: 401 }));
    vi.stubGlobal('fetch', fetchSpy);
    const hub = await createHubConnection('https://api.example.test/api', () => 'tok');
    await expect(hub.start()).rejects.toThrow(/401/);
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    const [url, init] = fetchSpy.mock.calls[0];
    expect(url).toBe('https://api.example.test/api/negotiate?negotiateVersion=1');
    expect(init.method).toBe('POST');
    expect(init.credentials).not.toBe('include');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
  });
});
