// Readers and rewriters for the frame bodies Meridian looks inside. Client frames: Query (its SQL),
// Parse (statement name and SQL), Bind (statement name; rewritten to another name), Describe and
// Close (kind and name; rewritten). Server frames: ErrorResponse / NoticeResponse (severity,
// SQLSTATE, message) and ParameterStatus. Other frames are read where they are handled, most by
// their header alone.
// Pure; every function takes (buf, start, end) of a whole frame. Client frames reach these readers
// only after frontend-check.ts passed them; a reader still throws a RangeError rather than read
// past a frame, which the session's guard turns into 08P01.

import { FrameWriter } from './writer.js';

/** Offset of the NUL ending the C string that starts at `from`; a RangeError when none is before `end`. */
function cstringEnd(buf: Buffer, from: number, end: number): number {
  const nul = buf.indexOf(0, from);
  if (nul < 0 || nul >= end) throw new RangeError('unterminated string in frame');
  return nul;
}

/** The SQL text of a Query frame. */
export function querySql(buf: Buffer, start: number, end: number): string {
  // Body is one C string; tolerate a missing terminator by reading to the frame end.
  const nul = buf.indexOf(0, start + 5);
  return buf.toString('utf8', start + 5, nul < 0 || nul >= end ? end : nul);
}

export interface ParseFields {
  name: string;
  /** Position of the NUL ending the name within buf (byte offset: a name's decoded length may differ). */
  nameEnd: number;
  sql: string;
}

export function readParse(buf: Buffer, start: number, end: number): ParseFields {
  const nameEnd = cstringEnd(buf, start + 5, end);
  const sqlEnd = cstringEnd(buf, nameEnd + 1, end);
  return {
    name: buf.toString('utf8', start + 5, nameEnd),
    nameEnd,
    sql: buf.toString('utf8', nameEnd + 1, sqlEnd),
  };
}

/** Statement name a Bind refers to (second C string; the first is the portal). */
export function readBindStatement(buf: Buffer, start: number, end: number): { portalEnd: number; name: string; nameEnd: number } {
  const portalEnd = cstringEnd(buf, start + 5, end);
  const nameEnd = cstringEnd(buf, portalEnd + 1, end);
  return { portalEnd, name: buf.toString('utf8', portalEnd + 1, nameEnd), nameEnd };
}

/** Describe / Close: kind byte ('S' or 'P') and the name. */
export function readTargetName(buf: Buffer, start: number, end: number): { kind: number; name: string } {
  const kind = buf[start + 5]!;
  const nameEnd = cstringEnd(buf, start + 6, end);
  return { kind, name: buf.toString('utf8', start + 6, nameEnd) };
}

const rw = new FrameWriter(512);

/** Bind frame pointing at another statement name; the portal and all parameters copied as is. */
export function rewriteBind(buf: Buffer, start: number, end: number, newName: string): Buffer {
  const { portalEnd, nameEnd } = readBindStatement(buf, start, end);
  rw.begin(buf[start]!)
    .bytes(buf, start + 5, portalEnd + 1)
    .cstring(newName)
    .bytes(buf, nameEnd + 1, end);
  return rw.end().flush();
}

/** Describe/Close of a statement under another name. */
export function rewriteTarget(buf: Buffer, start: number, end: number, newName: string): Buffer {
  rw.begin(buf[start]!)
    .int8(buf[start + 5]!)
    .cstring(newName);
  return rw.end().flush();
}

export interface ServerError {
  severity: string;
  code: string;
  message: string;
}

/** Severity, SQLSTATE and message of an ErrorResponse/NoticeResponse. */
export function readErrorFields(buf: Buffer, start: number, end: number): ServerError {
  const out: ServerError = { severity: 'ERROR', code: 'XX000', message: '' };
  let pos = start + 5;
  while (pos < end && buf[pos] !== 0) {
    const field = buf[pos]!;
    const nul = buf.indexOf(0, pos + 1);
    if (nul < 0 || nul >= end) break;
    const value = buf.toString('utf8', pos + 1, nul);
    if (field === 0x56 /* V */) out.severity = value;
    else if (field === 0x53 /* S */ && out.severity === 'ERROR') out.severity = value;
    else if (field === 0x43 /* C */) out.code = value;
    else if (field === 0x4d /* M */) out.message = value;
    pos = nul + 1;
  }
  return out;
}

/** ParameterStatus name and value. */
export function readParameterStatus(buf: Buffer, start: number, end: number): [string, string] {
  const nEnd = cstringEnd(buf, start + 5, end);
  const vEnd = cstringEnd(buf, nEnd + 1, end);
  return [buf.toString('utf8', start + 5, nEnd), buf.toString('utf8', nEnd + 1, vEnd)];
}
