/**
 * The fetch wrapper every feature uses: JSON in and out, the bearer token from Settings,
 * and the API's error shape turned into an ApiError.
 *
 *   {"error": {"code": "not_found", "message": "...", "details": [{"loc": "a.b", "message": "...", "line": 3}]}}
 */
import { env } from './env';
import { getToken } from './token';

export type ErrorDetail = {
  loc: string;
  message: string;
  line?: number | null;
};

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];

  constructor(status: number, code: string, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** A problem the request itself has (4xx): retrying will not help. */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export type RequestOptions = {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  /** A JSON body (serialised) or FormData (sent as multipart, boundary set by the browser). */
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
};

/** The full URL of an API path such as '/api/runs', with query parameters. */
export function apiUrl(path: string, query?: Query): string {
  let url = `${env().apiBase}${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += `${url.includes('?') ? '&' : '?'}${qs}`;
  }
  return url;
}

function asDetails(raw: unknown): ErrorDetail[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
    .map((d) => ({
      loc: typeof d.loc === 'string' ? d.loc : Array.isArray(d.loc) ? d.loc.join('.') : '',
      message: typeof d.message === 'string' ? d.message : JSON.stringify(d.message ?? ''),
      line: typeof d.line === 'number' ? d.line : null,
    }));
}

/** Turn a failed response into an ApiError, whatever its body is. */
export async function parseError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let payload: unknown;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  const error =
    payload && typeof payload === 'object' && 'error' in payload
      ? (payload as { error: unknown }).error
      : null;
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    return new ApiError(
      response.status,
      typeof e.code === 'string' ? e.code : `http_${response.status}`,
      typeof e.message === 'string' && e.message ? e.message : response.statusText,
      asDetails(e.details),
    );
  }
  const snippet = text.trim().slice(0, 200);
  const reason = response.statusText || 'request failed';
  return new ApiError(
    response.status,
    `http_${response.status}`,
    snippet && !snippet.startsWith('<') ? `${reason}: ${snippet}` : `${response.status} ${reason}`,
  );
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.body instanceof FormData) {
    body = options.body;
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(apiUrl(path, options.query), {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', `Cannot reach the udo API (${String(err)})`);
  }
  if (!response.ok) throw await parseError(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(response.status, 'bad_response', 'The API answered with something that is not JSON');
  }
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) =>
    request<T>(path, { method: 'GET', query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) =>
    request<T>(path, { method: 'POST', body: body ?? {}, query }),
};
