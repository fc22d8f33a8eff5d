// Encoders for the frames Meridian itself sends to clients (server role). Constant frames are
// built once. Frames Meridian sends to servers come from pg-protocol's `serialize` (the startup
// message is built in backend/server-connect.ts).

import { BackendCode, TxStatus } from './codes.js';
import { FrameWriter } from './writer.js';

const w = new FrameWriter(1024);

function frame(code: number, body: (fw: FrameWriter) => void): Buffer {
  w.begin(code);
  body(w);
  return w.end().flush();
}

export const READY_IDLE = frame(BackendCode.ReadyForQuery, (f) => f.int8(TxStatus.Idle));
export const READY_IN_TX = frame(BackendCode.ReadyForQuery, (f) => f.int8(TxStatus.InTransaction));
export const READY_FAILED = frame(BackendCode.ReadyForQuery, (f) => f.int8(TxStatus.Failed));
export const PARSE_COMPLETE = frame(BackendCode.ParseComplete, () => {});
export const CLOSE_COMPLETE = frame(BackendCode.CloseComplete, () => {});
export const EMPTY_QUERY = frame(BackendCode.EmptyQueryResponse, () => {});
export const AUTH_OK = frame(BackendCode.Authentication, (f) => f.int32(0));
export const AUTH_CLEARTEXT = frame(BackendCode.Authentication, (f) => f.int32(3));
export const SSL_NO = Buffer.from('N');
export const SSL_YES = Buffer.from('S');

export function readyForQuery(status: number): Buffer {
  return status === TxStatus.Idle ? READY_IDLE : status === TxStatus.InTransaction ? READY_IN_TX : READY_FAILED;
}

export function authMd5(salt: Buffer): Buffer {
  return frame(BackendCode.Authentication, (f) => f.int32(5).bytes(salt));
}

export function authSasl(mechanisms: readonly string[]): Buffer {
  return frame(BackendCode.Authentication, (f) => {
    f.int32(10);
    for (const m of mechanisms) f.cstring(m);
    f.int8(0);
  });
}

export function authSaslContinue(data: string): Buffer {
  return frame(BackendCode.Authentication, (f) => f.int32(11).bytes(Buffer.from(data)));
}

export function authSaslFinal(data: string): Buffer {
  return frame(BackendCode.Authentication, (f) => f.int32(12).bytes(Buffer.from(data)));
}

export function parameterStatus(name: string, value: string): Buffer {
  return frame(BackendCode.ParameterStatus, (f) => f.cstring(name).cstring(value));
}

export function backendKeyData(pid: number, secret: number): Buffer {
  return frame(BackendCode.BackendKeyData, (f) => f.int32(pid).int32(secret));
}

export function commandComplete(tag: string): Buffer {
  return frame(BackendCode.CommandComplete, (f) => f.cstring(tag));
}

export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'LOG' | 'INFO';
  code: string;
  message: string;
  detail?: string | null;
  hint?: string | null;
}

export function errorResponse(e: ErrorFields): Buffer {
  return frame(BackendCode.ErrorResponse, (f) => {
    f.int8(0x53).cstring(e.severity); // S
    f.int8(0x56).cstring(e.severity); // V (non-localized)
    f.int8(0x43).cstring(e.code); // C
    f.int8(0x4d).cstring(e.message); // M
    if (e.detail) f.int8(0x44).cstring(e.detail); // D
    if (e.hint) f.int8(0x48).cstring(e.hint); // H
    f.int8(0);
  });
}

/** Column of a text result set (admin console). All columns are text (oid 25) or int8 (20). */
export interface ColumnSpec {
  name: string;
  typeOid?: number;
}

export function rowDescription(cols: readonly ColumnSpec[]): Buffer {
  return frame(BackendCode.RowDescription, (f) => {
    f.int16(cols.length);
    for (const c of cols) {
      f.cstring(c.name)
        .int32(0)
        .int16(0)
        .int32(c.typeOid ?? 25)
        .int16(-1)
        .int32(-1)
        .int16(0);
    }
  });
}

export function dataRow(values: readonly (string | null)[]): Buffer {
  return frame(BackendCode.DataRow, (f) => {
    f.int16(values.length);
    for (const v of values) {
      if (v === null) {
        f.int32(-1);
      } else {
        const b = Buffer.from(v, 'utf8');
        f.int32(b.length).bytes(b);
      }
    }
  });
}

/** Whole simple-query result set: RowDescription, DataRows, CommandComplete. */
export function resultSet(cols: readonly ColumnSpec[], rows: readonly (readonly (string | null)[])[], tag?: string): Buffer {
  const parts = [rowDescription(cols)];
  for (const r of rows) parts.push(dataRow(r));
  parts.push(commandComplete(tag ?? `SELECT ${rows.length}`));
  return Buffer.concat(parts);
}
