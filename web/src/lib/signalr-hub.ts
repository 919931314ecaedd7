/**
 * The SignalR connection used when the API says run events go through Azure SignalR
 * Service (`events: "signalr"` in GET /api/config).
 *
 * `withUrl('/api')`: the client first posts to /api/negotiate (with the bearer token from
 * Settings, if any), which redirects it to the service with a short-lived service token.
 * The service then calls the client method `runEvent` with one RunEvent per event.
 * `withCredentials: false`: the negotiate request carries the bearer token, never cookies.
 * The client's default (true) sends `credentials: 'include'`, which a browser refuses
 * cross-origin (UI on another origin, `VITE_API_BASE`) unless the answer says
 * `Access-Control-Allow-Credentials: true`, and the API never does. No cookie is needed
 * either: Azure SignalR Service holds the connection itself, so there is no sticky session.
 * `@microsoft/signalr` is loaded on demand, so a UI listening over SSE never downloads it.
 */
import type { HubConnection } from '@microsoft/signalr';

/** The target the server broadcasts to (udo.adapters.azure.signalr.TARGET). */
export const RUN_EVENT_TARGET = 'runEvent';

/** The part of a HubConnection the event stream uses (what tests fake). */
export type HubConnectionLike = Pick<
  HubConnection,
  'on' | 'onclose' | 'onreconnecting' | 'onreconnected' | 'start' | 'stop'
>;

/** A connection to the hub behind `url` (not started); reconnects by itself after drops. */
export async function createHubConnection(
  url: string,
  accessTokenFactory: () => string,
): Promise<HubConnectionLike> {
  const signalr = await import('@microsoft/signalr');
  return new signalr.HubConnectionBuilder()
    .withUrl(url, { accessTokenFactory, withCredentials: false })
    .withAutomaticReconnect()
    .configureLogging(signalr.LogLevel.Warning)
    .build();
}
