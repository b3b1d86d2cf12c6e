/**
 * Path conventions: API paths match case-insensitively, a trailing slash is tolerated, and the misspelt
 * `coworkermsoffecalendars` is an alias. Done once, as a URL rewrite, so routes are declared once.
 */
const ALIASES: Record<string, string> = {
  coworkermsoffecalendars: 'coworkermsofficecalendars',
};

/** `/api` or a path under it, in any case. */
const API_PATH = /^\/api(\/|$)/i;

/** Upper case, a trailing slash or an alias: the only things a rewrite changes. */
const NEEDS_REWRITE = new RegExp(`[A-Z]|/$|${Object.keys(ALIASES).join('|')}`);

export function rewriteApiUrl(url: string): string {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  if (!API_PATH.test(path)) return url;
  // Most requests name the canonical path already: nothing to rewrite, nothing to allocate.
  if (!NEEDS_REWRITE.test(path)) return url;
  path = path.toLowerCase();
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const segments = path.split('/');
  for (let i = 0; i < segments.length; i++) {
    const alias = ALIASES[segments[i]!];
    if (alias) segments[i] = alias;
  }
  path = segments.join('/');
  return q < 0 ? path : path + url.slice(q);
}

/**
 * Whether a (rewritten) request URL is the API's: `/api`, or a path under it. The router decodes %-escapes, so
 * `/%61pi/...` reaches an API route too; such a path is decoded here before the test.
 */
export function isApiUrl(url: string): boolean {
  if (url.startsWith('/api/')) return true;
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      return false; // not a URL the router accepts either
    }
  }
  return API_PATH.test(path);
}
