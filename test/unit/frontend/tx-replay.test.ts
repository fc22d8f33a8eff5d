// Transaction replay's recording and tap (tx-replay.ts): what passes to the client while a replay
// catches up, when it has caught up, and which differences are mismatches. Pure: frames in,
// offsets and events out.

import { describe, expect, it } from 'vitest';
import { TxRecording, MAX_REPLAY_ATTEMPTS } from '../../../src/frontend/tx-replay.js';
import { commandComplete, dataRow, errorResponse, parameterStatus, readyForQuery, rowDescription } from '../../../src/protocol/encode.js';
import { TxStatus } from '../../../src/protocol/codes.js';

const Q = 0x51;
const q = (sql: string): Buffer => {
  const b = Buffer.alloc(1 + 4 + Buffer.byteLength(sql) + 1);
  b[0] = Q;
  b.writeInt32BE(b.length - 1, 1);
  b.write(sql, 5);
  return b;
};

function recording(maxBytes = 1 << 20) {
  const events: string[] = [];
  const rec = new TxRecording(maxBytes, { caughtUp: () => events.push('caught-up'), mismatch: (why) => events.push(`mismatch: ${why}`) });
  /** What of `frame` reaches the client. */
  const out = (frame: Buffer): Buffer => frame.subarray(rec.pass(frame, 0, frame.length));
  return { rec, events, out };
}

const begin = [commandComplete('BEGIN'), readyForQuery(TxStatus.InTransaction)];
const select = (v: string, table = 1) => {
  const rd = rowDescription([{ name: 'v', typeOid: 23 }]);
  rd.writeInt32BE(table, 5 + 2 + 2); // the column's table OID (differs between nodes of a logical cluster)
  return [rd, dataRow([v]), commandComplete('SELECT 1'), readyForQuery(TxStatus.InTransaction)];
};

/** Records BEGIN; SELECT v (answered with `v`): the client received it all. */
function original(v = '1') {
  const r = recording();
  r.rec.restart();
  r.rec.recordInput(Q, q('begin'), 0, q('begin').length);
  for (const f of begin) expect(r.out(f).length).toBe(f.length);
  r.rec.recordInput(Q, q('select v'), 0, q('select v').length);
  for (const f of select(v)) expect(r.out(f).length).toBe(f.length);
  return r;
}

describe('transaction replay recording', () => {
  it('records frames and passes output untouched while live', () => {
    const { rec, events } = original();
    expect(rec.isCatchingUp).toBe(false);
    expect(events).toEqual([]);
  });

  it('a replay swallows what the client already received, then lets the rest through', () => {
    const { rec, events, out } = original();
    const r = rec.beginReplay();
    if (typeof r === 'string') throw new Error(r);
    expect(r.codes).toEqual([Q, Q]);
    expect(rec.isCatchingUp).toBe(true);
    for (const f of begin) expect(out(f).length).toBe(0);
    const sel = select('1', 99); // another node: another table OID, same names and values
    for (const f of sel.slice(0, 3)) expect(out(f).length).toBe(0);
    expect(events).toEqual([]);
    expect(out(sel[3]!).length).toBe(0); // the last frame the client had: caught up, still swallowed
    expect(events).toEqual(['caught-up']);
    const next = commandComplete('INSERT 0 1');
    expect(out(next)).toEqual(next);
  });

  it('frames after the catching-up one in the same write pass', () => {
    const { rec, events } = original();
    rec.beginReplay();
    const more = commandComplete('INSERT 0 1');
    const all = Buffer.concat([...begin, ...select('1'), more]);
    const from = rec.pass(all, 0, all.length);
    expect(events).toEqual(['caught-up']);
    expect(all.subarray(from)).toEqual(more);
  });

  it('a different row is a mismatch at its ReadyForQuery', () => {
    const { rec, events, out } = original('1');
    rec.beginReplay();
    for (const f of [...begin, ...select('2')]) out(f);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(/^mismatch: request 2/);
    expect(out(commandComplete('X')).length).toBe(0); // everything swallowed once failed
  });

  it('an error instead of a result is a mismatch; the error text and ParameterStatus do not count', () => {
    const { rec, events, out } = original();
    rec.beginReplay();
    for (const f of begin) out(f);
    out(parameterStatus('TimeZone', 'UTC')); // not counted
    out(errorResponse({ severity: 'ERROR', code: '40001', message: 'could not serialize' }));
    out(readyForQuery(TxStatus.Failed));
    expect(events[0]).toMatch(/^mismatch/);
  });

  it('a replay whose transaction ends before catching up is a mismatch', () => {
    const { rec, events, out } = original();
    rec.beginReplay();
    for (const f of begin) out(f);
    rec.restart(); // the replayed frames left the transaction
    expect(events[0]).toMatch(/^mismatch: the replayed transaction ended/);
  });

  it('past maxBytes nothing is kept and the transaction cannot be replayed', () => {
    const { rec } = recording(10);
    rec.restart();
    const f = q('select 1 from a_long_table_name');
    rec.recordInput(Q, f, 0, f.length);
    rec.pass(readyForQuery(TxStatus.InTransaction), 0, 6);
    expect(rec.beginReplay()).toBe('too-large');
  });

  it('nothing recorded: not replayable; a replay lost again reuses the original, at most MAX_REPLAY_ATTEMPTS times', () => {
    const { rec: empty } = recording();
    empty.restart();
    expect(empty.beginReplay()).toBe('nothing-recorded');
    const { rec, out } = original();
    for (let i = 0; i < MAX_REPLAY_ATTEMPTS; i++) {
      const r = rec.beginReplay();
      expect(typeof r).toBe('object');
      out(begin[0]!); // partway, then lost again
    }
    expect(rec.beginReplay()).toBe('attempts');
  });

  it('a replay lost again says how many of its frames it had not fed through yet (they must not run twice)', () => {
    const { rec, out } = original();
    const first = rec.beginReplay();
    if (typeof first === 'string') throw new Error(first);
    expect(first.untaken).toBe(0); // a first replay: every recorded frame had been taken
    // The replay feeds BEGIN through (recorded again, answered), then its backend is lost too.
    rec.recordInput(Q, q('begin'), 0, q('begin').length);
    for (const f of begin) out(f);
    const second = rec.beginReplay();
    if (typeof second === 'string') throw new Error(second);
    expect(second.codes).toEqual([Q, Q]);
    expect(second.untaken).toBe(1); // `select v` still waits in the session's queue
  });

  it('input frames are copies: the read buffer may be reused', () => {
    const { rec } = recording();
    rec.restart();
    const buf = q('begin');
    rec.recordInput(Q, buf, 0, buf.length);
    rec.pass(readyForQuery(TxStatus.InTransaction), 0, 6);
    buf.fill(0);
    const r = rec.beginReplay();
    if (typeof r === 'string') throw new Error(r);
    expect(r.frames[0]).toEqual(q('begin'));
  });
});
