// The operator page's static files and the headers every page response carries. The shell, its
// stylesheet and its script hold no data and are served without a token; the data (GET /ui/state)
// needs it. The Content-Security-Policy allows only this origin's own script, stylesheet and
// fetches: no inline script or style, no frames, no form posts, no other origin. Nothing here is
// cached by the browser (no-store), so an upgrade of Meridian is seen at the next load.

import { PAGE_HTML } from './shell.js';
import { PAGE_CSS } from './style.js';
import { PAGE_SCRIPT } from './script.js';

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every /ui response, the data's included. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
});

export interface PageAsset {
  readonly contentType: string;
  readonly body: string;
}

const ASSETS: ReadonlyMap<string, PageAsset> = new Map([
  ['/ui', { contentType: 'text/html; charset=utf-8', body: PAGE_HTML }],
  ['/ui/app.js', { contentType: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT }],
  ['/ui/app.css', { contentType: 'text/css; charset=utf-8', body: PAGE_CSS }],
]);

/** The static file at `path` (trailing slashes already removed), or undefined. */
export function pageAsset(path: string): PageAsset | undefined {
  return ASSETS.get(path);
}
