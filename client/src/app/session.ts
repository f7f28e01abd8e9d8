// The signed-in token, shared by the dashboard and GraphiQL (same origin, one browser tab).
// It lives in sessionStorage only: never in a URL the server sees, never in a cookie.

const KEY = 'statsgraph.token';

export function storedToken(): string {
  try {
    return sessionStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function storeToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: the token lasts as long as the page.
  }
}

/**
 * A sign-in link carries the token in the fragment (`/#token=...`), which browsers never send to
 * the server. Take it, store it, and drop it from the address bar and the history entry.
 */
export function takeTokenFromFragment(): string | null {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return null;
  history.replaceState(null, '', location.pathname + location.search);
  const clean = token.trim();
  storeToken(clean);
  return clean;
}
