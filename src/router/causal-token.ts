// Causal tokens: a write's watermark a client carries to another connection or another Meridian
// instance (SHOW / SET meridian.causal_token, the startup option, the ParameterStatus
// meridian.causal_token). A token names the node that took the write and the wall-clock time its
// acknowledgement reached Meridian: the same pair read-your-writes keeps inside a session
// (WriteMark), so any instance compares it with its own watermarks of that node (WAL marks of a
// primary for physical clusters, heartbeat rows for heartbeat kinds: health/seen-writes.ts). The
// instances' clocks must agree (NTP): a token from an instance whose clock runs ahead only makes
// reads wait for newer watermarks, one from a clock behind may let a read miss the write by the skew.
//
// Opaque to clients, small (the node name plus about 16 characters), versioned ("mct1.") and
// checked when presented: malformed, or naming a node this cluster does not have (a token from
// another cluster), it is refused with 22023. Pure.

import type { WriteMark } from './types.js';

const PREFIX = 'mct1.';
/** Longest token accepted (a node name is short; anything longer is not ours). */
const MAX_TOKEN_CHARS = 512;
/** A token from further in the future than this is refused (a broken clock, or not ours). */
export const MAX_FUTURE_MS = 60_000;

export function encodeCausalToken(mark: WriteMark): string {
  return PREFIX + Buffer.from(JSON.stringify([mark.node, Math.round(mark.atMs)]), 'utf8').toString('base64url');
}

export type DecodedToken = { readonly ok: true; readonly mark: WriteMark } | { readonly ok: false; readonly reason: string };

/** `nodes`: the configured node names; `nowMs`: this instance's clock. */
export function decodeCausalToken(text: string, nodes: readonly string[], nowMs: number): DecodedToken {
  const t = text.trim();
  if (!t.startsWith(PREFIX) || t.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(t.slice(PREFIX.length))) {
    return { ok: false, reason: 'not a causal token' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(t.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'not a causal token' };
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || !Number.isSafeInteger(parsed[1]) || (parsed[1] as number) < 0) {
    return { ok: false, reason: 'not a causal token' };
  }
  const node = parsed[0];
  const atMs = parsed[1] as number;
  if (!nodes.includes(node)) return { ok: false, reason: `it names node "${node}", which this cluster does not have (a token from another cluster?)` };
  if (atMs > nowMs + MAX_FUTURE_MS) return { ok: false, reason: 'its time is more than a minute ahead of this instance' };
  return { ok: true, mark: { node, atMs, isCausal: true } };
}
