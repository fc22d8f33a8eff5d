// Route hints: the `/* meridian: route=master */` comment and the value of SET meridian.route.
// Pure string work; which comments count as "leading" is the caller's business (see find-hint.ts).

import type { RouteHint } from './types.js';

export const HINT_MASTER: RouteHint = Object.freeze({ route: 'master' });
export const HINT_REPLICA: RouteHint = Object.freeze({ route: 'replica' });

const COMMENT_HINT = /meridian\s*:\s*(route|node)\s*=\s*([A-Za-z0-9_.-]+)(?:\s*=\s*([A-Za-z0-9_.-]+))?/i;

/**
 * The hint in one comment's text, or null. Accepts `meridian: route=master`, `route=replica`,
 * `node=NAME` and `route=node=NAME`; anything else is not a hint (the statement is classified as usual).
 */
export function parseHint(comment: string): RouteHint | null {
  const m = COMMENT_HINT.exec(comment);
  if (m === null) return null;
  const key = (m[1] ?? '').toLowerCase();
  const value = m[2] ?? '';
  if (key === 'node') return { node: value };
  const hint = parseRouteValue(m[3] !== undefined ? `${value}=${m[3]}` : value);
  return hint ?? null;
}

/**
 * The value of `SET meridian.route`: master | replica | node=NAME | default (null).
 * undefined means the value is invalid.
 */
export function parseRouteValue(raw: string): RouteHint | null | undefined {
  const value = raw.trim();
  const lower = value.toLowerCase();
  if (lower === 'master') return HINT_MASTER;
  if (lower === 'replica') return HINT_REPLICA;
  if (lower === 'default' || lower === '') return null;
  const m = /^node\s*=\s*(\S+)$/i.exec(value);
  if (m !== null && m[1] !== undefined) return { node: m[1] };
  return undefined;
}
