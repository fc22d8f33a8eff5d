// Structural check of one client frame before anything reads inside it. Pure; no allocation on
// the common path. Every length, count and C string a client sends is checked against the frame
// it came in, the way PostgreSQL's pq_getmsg* + pq_getmsgend do: a frame that is short, long or
// has an unterminated string is a protocol violation. Names (statements, portals) must be valid
// UTF-8, because Meridian keys its per-session maps by the decoded name: two byte strings that
// decode to the same replacement characters would otherwise share one entry. The readers in
// messages.ts rely on this check having passed.

import { isUtf8 } from 'node:buffer';
import { FrontendCode } from './codes.js';

/** Position after the NUL of the C string starting at `pos`, or -1 if it is not terminated in [pos, end). */
function cstringNext(buf: Buffer, pos: number, end: number): number {
  if (pos >= end) return -1;
  const nul = buf.indexOf(0, pos);
  return nul < 0 || nul >= end ? -1 : nul + 1;
}

/** A name's bytes [from, to) are valid UTF-8 (ASCII names, the usual case, need no decoder). */
function isValidName(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i]! >= 0x80) return isUtf8(buf.subarray(from, to));
  return true;
}

/** A name C string at `pos`: position after it, or -1 (unterminated or not UTF-8). */
function nameNext(buf: Buffer, pos: number, end: number): number {
  const next = cstringNext(buf, pos, end);
  return next < 0 || !isValidName(buf, pos, next - 1) ? -1 : next;
}

/** int16 count of int16 format codes at `pos`: position after them, or -1. */
function formatsNext(buf: Buffer, pos: number, end: number): number {
  if (pos + 2 > end) return -1;
  const n = buf.readInt16BE(pos);
  if (n < 0) return -1;
  const next = pos + 2 + 2 * n;
  return next > end ? -1 : next;
}

/** int16 count of length-prefixed values (int32 length, -1 = NULL) at `pos`: position after them, or -1. */
function valuesNext(buf: Buffer, pos: number, end: number): number {
  if (pos + 2 > end) return -1;
  const n = buf.readInt16BE(pos);
  if (n < 0) return -1;
  let p = pos + 2;
  for (let i = 0; i < n; i++) {
    if (p + 4 > end) return -1;
    const len = buf.readInt32BE(p);
    p += 4;
    if (len === -1) continue;
    if (len < 0 || len > end - p) return -1;
    p += len;
  }
  return p;
}

/** Describe/Close: 'S' or 'P', then a name, and nothing after. */
function checkTarget(buf: Buffer, start: number, end: number): boolean {
  const kind = buf[start + 5];
  if (start + 6 > end || (kind !== 0x53 /* S */ && kind !== 0x50) /* P */) return false;
  return nameNext(buf, start + 6, end) === end;
}

function checkBind(buf: Buffer, start: number, end: number): boolean {
  let p = nameNext(buf, start + 5, end); // portal
  if (p >= 0) p = nameNext(buf, p, end); // statement
  if (p >= 0) p = formatsNext(buf, p, end); // parameter formats
  if (p >= 0) p = valuesNext(buf, p, end); // parameter values
  if (p >= 0) p = formatsNext(buf, p, end); // result formats
  return p === end;
}

function checkParse(buf: Buffer, start: number, end: number): boolean {
  let p = nameNext(buf, start + 5, end);
  if (p >= 0) p = cstringNext(buf, p, end); // SQL
  if (p < 0 || p + 2 > end) return false;
  const n = buf.readInt16BE(p);
  return n >= 0 && p + 2 + 4 * n === end;
}

function checkFunctionCall(buf: Buffer, start: number, end: number): boolean {
  let p = start + 9 > end ? -1 : start + 9; // function oid
  if (p >= 0) p = formatsNext(buf, p, end);
  if (p >= 0) p = valuesNext(buf, p, end);
  return p >= 0 && p + 2 === end; // result format
}

/**
 * Checks a client frame [start, end) after login (buf[start] is its code). Returns null when its
 * structure is sound, else what is wrong (for the 08P01 message). Unknown codes pass: the caller
 * decides what a message type means in its state.
 */
export function checkFrontendFrame(code: number, buf: Buffer, start: number, end: number): string | null {
  let ok: boolean;
  switch (code) {
    case FrontendCode.Query:
    case FrontendCode.CopyFail:
      ok = cstringNext(buf, start + 5, end) === end;
      break;
    case FrontendCode.Parse:
      ok = checkParse(buf, start, end);
      break;
    case FrontendCode.Bind:
      ok = checkBind(buf, start, end);
      break;
    case FrontendCode.Describe:
    case FrontendCode.Close:
      ok = checkTarget(buf, start, end);
      break;
    case FrontendCode.Execute: {
      const p = nameNext(buf, start + 5, end);
      ok = p >= 0 && p + 4 === end;
      break;
    }
    case FrontendCode.FunctionCall:
      ok = checkFunctionCall(buf, start, end);
      break;
    case FrontendCode.Sync:
    case FrontendCode.Flush:
    case FrontendCode.Terminate:
    case FrontendCode.CopyDone:
      ok = end - start === 5;
      break;
    default:
      return null;
  }
  return ok ? null : `invalid ${String.fromCharCode(code)} message format`;
}
