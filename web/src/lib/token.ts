/** The bearer token pasted in Settings, kept in localStorage under 'udo.token'. */
export const TOKEN_KEY = 'udo.token';
const listeners = new Set<() => void>();

function storage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null; // storage disabled: behave as if no token were set
  }
}

export function getToken(): string | null {
  const value = storage()?.getItem(TOKEN_KEY)?.trim();
  return value ? value : null;
}

export function setToken(token: string | null): void {
  const s = storage();
  if (!s) return;
  const value = token?.trim();
  if (value) s.setItem(TOKEN_KEY, value);
  else s.removeItem(TOKEN_KEY);
  listeners.forEach((fn) => fn());
}

/** Called whenever the token changes (to reconnect the event stream, refetch...). */
export function onTokenChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
