// What a stale shared statement's replay starts from (plan-invalidated.ts), and the server's FATAL
// turned into an ERROR with every other field as sent (session-failure.ts asError).
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { FrameList } from '../../../src/frontend/frame-list.js';
import { isPlanInvalidated, replayStart } from '../../../src/frontend/plan-invalidated.js';
import { asError } from '../../../src/frontend/session-failure.js';
import { errorResponse } from '../../../src/protocol/encode.js';
import { readErrorFields } from '../../../src/protocol/messages.js';

function list(...frames: Buffer[]): FrameList {
  const l = new FrameList();
  for (const f of frames) l.push(f[0]!, f, 0, f.length);
  return l;
}

const globals = new Map([
  ['q', 'mrd_1'],
  ['w', 'mrd_2'],
]);
const globalOf = (n: string) => globals.get(n);

describe('replayStart', () => {
  it('starts at the first use of the refused statement when only Parse messages come before it', () => {
    const l = list(serialize.parse({ name: 'q', text: 'select 1' }), serialize.bind({ statement: 'q' }), serialize.execute({}), serialize.sync());
    expect(replayStart(l, 'mrd_1', globalOf)).toBe(1);
    const d = list(serialize.describe({ type: 'S', name: 'q' }), serialize.sync());
    expect(replayStart(d, 'mrd_1', globalOf)).toBe(0);
  });

  it('refuses when another statement, a portal, or an Execute came first', () => {
    expect(replayStart(list(serialize.bind({ statement: 'w' }), serialize.bind({ statement: 'q' })), 'mrd_1', globalOf)).toBe(-1);
    expect(replayStart(list(serialize.execute({}), serialize.bind({ statement: 'q' })), 'mrd_1', globalOf)).toBe(-1);
    expect(replayStart(list(serialize.describe({ type: 'P', name: '' }), serialize.bind({ statement: 'q' })), 'mrd_1', globalOf)).toBe(-1);
    expect(replayStart(list(serialize.bind({ statement: '' })), 'mrd_1', globalOf)).toBe(-1);
  });

  it('knows the stale-plan refusals', () => {
    expect(isPlanInvalidated('0A000', 'cached plan must not change result type')).toBe(true);
    expect(isPlanInvalidated('42804', 'column "col" is of type integer but expression is of type text')).toBe(true);
    expect(isPlanInvalidated('0A000', 'cannot PREPARE a transaction that has operated on temporary objects')).toBe(false);
    expect(isPlanInvalidated('22P02', 'invalid input syntax for type integer: "x"')).toBe(false);
  });
});

describe('asError', () => {
  it('makes S and V ERROR and keeps every other field, in order', () => {
    const fatal = errorResponse({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command', detail: 'd', hint: 'h' });
    const e = asError(fatal);
    const f = readErrorFields(e, 0, e.length);
    expect(f.severity).toBe('ERROR');
    expect(f.code).toBe('57P01');
    expect(f.message).toBe('terminating connection due to administrator command');
    expect(e.readInt32BE(1)).toBe(e.length - 1);
    expect(e.toString('latin1').replace(/ERROR/g, 'FATAL')).toBe(fatal.toString('latin1'));
  });
});
