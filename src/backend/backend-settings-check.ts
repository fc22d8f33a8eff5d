// Asks a server how it shows a client's startup settings, in transaction pooling (where backends
// are not opened with them): one implicit transaction of set_config(name, value, true) per
// setting, which leaves nothing behind, answers each value in the server's own form ("Postgres,
// MDY" for "postgres,mdy") and refuses a value the server would refuse at login. The caller owns
// the backend before and after; nothing here throws.

import { serialize } from 'pg-protocol';
import { BackendCode, TxStatus } from '../protocol/codes.js';
import { readErrorFields, type ServerError } from '../protocol/messages.js';
import { quoteLiteral } from './backend-startup.js';
import type { Backend, BackendOwner } from './backend.js';

export type SettingsCheckResult = { ok: true; shown: Map<string, string> } | { ok: false; error: ServerError | null; reason: string };

/** The values of one DataRow as text (null for SQL NULL). */
function dataRowValues(buf: Buffer, start: number): (string | null)[] {
  const n = buf.readInt16BE(start + 5);
  const out: (string | null)[] = [];
  let at = start + 7;
  for (let i = 0; i < n; i++) {
    const len = buf.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(buf.toString('utf8', at, at + len));
      at += len;
    }
  }
  return out;
}

export function checkStartupSettings(b: Backend, settings: ReadonlyMap<string, string>, timeoutMs: number, done: (r: SettingsCheckResult) => void): void {
  const names = [...settings.keys()];
  // set_config returns the value as SHOW shows it; `true`: local to this implicit transaction.
  const sql = 'SELECT ' + names.map((k) => `pg_catalog.set_config(${quoteLiteral(k)}, ${quoteLiteral(settings.get(k)!)}, true)`).join(', ');
  let row: (string | null)[] | null = null;
  let error: ServerError | null = null;
  let isSettled = false;
  const settle = (r: SettingsCheckResult) => {
    if (isSettled) return;
    isSettled = true;
    clearTimeout(timer);
    if (b.owner === owner) b.owner = null;
    done(r);
  };
  const timer = setTimeout(() => {
    b.close('startup settings check timed out');
    settle({ ok: false, error: null, reason: `no answer within ${timeoutMs} ms` });
  }, timeoutMs);
  timer.unref();
  const owner: BackendOwner = {
    onServerFrame(_b, code, buf, start, end) {
      if (code === BackendCode.DataRow) row ??= dataRowValues(buf, start);
      else if (code === BackendCode.ErrorResponse) error ??= readErrorFields(buf, start, end);
      else if (code === BackendCode.ReadyForQuery) {
        b.txStatus = buf[start + 5] ?? TxStatus.Idle;
        if (error !== null) return settle({ ok: false, error, reason: error.message });
        if (row === null || row.length !== names.length) return settle({ ok: false, error: null, reason: 'no row from set_config' });
        const shown = new Map<string, string>();
        names.forEach((k, i) => shown.set(k, row![i] ?? ''));
        settle({ ok: true, shown });
      }
    },
    onServerChunkEnd() {},
    onServerLost(_b, reason) {
      settle({ ok: false, error: null, reason });
    },
  };
  b.owner = owner;
  b.out.frame(serialize.query(sql));
  b.flush();
}
