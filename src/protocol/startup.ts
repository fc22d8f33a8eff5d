// Decoding of the untyped startup-phase packets: SSLRequest, GSSENCRequest, CancelRequest and
// StartupMessage. Pure. The caller has already checked 8 ≤ length ≤ MAX_STARTUP_PACKET.

import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, PROTOCOL_3_0, SSL_REQUEST_CODE } from './codes.js';

export type StartupPacket =
  | { readonly kind: 'ssl' }
  | { readonly kind: 'gssenc' }
  | { readonly kind: 'cancel'; readonly pid: number; readonly secret: number }
  | { readonly kind: 'startup'; readonly params: ReadonlyMap<string, string> }
  | { readonly kind: 'unsupported'; readonly version: number }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Decodes the packet in buf[0, len) (len includes the 4-byte length). */
export function decodeStartup(buf: Buffer, len: number): StartupPacket {
  const code = buf.readInt32BE(4);
  if (code === SSL_REQUEST_CODE) return len === 8 ? { kind: 'ssl' } : { kind: 'invalid', reason: 'bad SSLRequest length' };
  if (code === GSSENC_REQUEST_CODE) return len === 8 ? { kind: 'gssenc' } : { kind: 'invalid', reason: 'bad GSSENCRequest length' };
  if (code === CANCEL_REQUEST_CODE) {
    if (len !== 16) return { kind: 'invalid', reason: 'bad CancelRequest length' };
    return { kind: 'cancel', pid: buf.readInt32BE(8), secret: buf.readInt32BE(12) };
  }
  if (code !== PROTOCOL_3_0) {
    // 3.x minor versions could be negotiated; Meridian speaks exactly 3.0 and says so.
    return { kind: 'unsupported', version: code };
  }
  const params = new Map<string, string>();
  let pos = 8;
  while (pos < len) {
    if (buf[pos] === 0) {
      return pos === len - 1 ? { kind: 'startup', params } : { kind: 'invalid', reason: 'trailing bytes in startup packet' };
    }
    const kEnd = buf.indexOf(0, pos);
    if (kEnd < 0 || kEnd >= len) return { kind: 'invalid', reason: 'unterminated startup parameter name' };
    const vEnd = buf.indexOf(0, kEnd + 1);
    if (vEnd < 0 || vEnd >= len) return { kind: 'invalid', reason: 'unterminated startup parameter value' };
    params.set(buf.toString('utf8', pos, kEnd), buf.toString('utf8', kEnd + 1, vEnd));
    pos = vEnd + 1;
  }
  return { kind: 'invalid', reason: 'startup packet missing terminator' };
}

/**
 * Splits a libpq `options` string ("-c a=b --c=d -csearch_path=x") into settings. Backslash
 * escapes a space, as in PostgreSQL's pg_split_opts.
 */
export function parseStartupOptions(options: string): Map<string, string> {
  const out = new Map<string, string>();
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (ch === '\\' && i + 1 < options.length) {
      cur += options[++i];
      inWord = true;
    } else if (ch === ' ' || ch === '\t' || ch === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    if (w === '-c' && i + 1 < words.length) w = words[++i]!;
    else if (w.startsWith('-c')) w = w.slice(2);
    else if (w.startsWith('--')) w = w.slice(2);
    else continue;
    const eq = w.indexOf('=');
    if (eq > 0) out.set(w.slice(0, eq).replace(/-/g, '_').toLowerCase(), w.slice(eq + 1));
  }
  return out;
}
