// The structural check of client frames (issue 14, finding 1 and 5): well-formed frames of every
// type pass; short, long, unterminated and non-UTF-8-named frames are refused; and — the property
// the session relies on — whatever the check passes, the readers and rewriters read without
// throwing and without reading past the frame.

import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { FrontendCode } from '../../../src/protocol/codes.js';
import { checkFrontendFrame } from '../../../src/protocol/frontend-check.js';
import { querySql, readBindStatement, readParse, readTargetName, rewriteBind, rewriteTarget } from '../../../src/protocol/messages.js';

function frame(code: string, body: Buffer): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b[0] = code.charCodeAt(0);
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

const check = (f: Buffer): string | null => checkFrontendFrame(f[0]!, f, 0, f.length);

const WELL_FORMED: Buffer[] = [
  serialize.query('select 1'),
  serialize.parse({ name: 's1', text: 'select $1::int', types: [23] }),
  serialize.parse({ name: '', text: 'select 1' }),
  serialize.parse({ name: 'é名', text: 'select 1' }),
  serialize.bind({ portal: 'p', statement: 's1', values: ['42', null, Buffer.from([1, 2])], binary: true }),
  serialize.bind({}),
  serialize.describe({ type: 'P', name: 'p' }),
  serialize.describe({ type: 'S', name: 's1' }),
  serialize.execute({ portal: 'p', rows: 10 }),
  serialize.execute({}),
  serialize.close({ type: 'S', name: 's1' }),
  serialize.sync(),
  serialize.flush(),
  serialize.end(),
  serialize.copyData(Buffer.from('1\t2\n')),
  serialize.copyDone(),
  serialize.copyFail('no'),
  // FunctionCall: oid 1, 1 format (text), 1 argument '7', result format 0
  frame('F', Buffer.from([0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x37, 0, 0])),
];

describe('checkFrontendFrame', () => {
  it('passes well-formed frames of every type', () => {
    for (const f of WELL_FORMED) expect(check(f), String.fromCharCode(f[0]!)).toBeNull();
  });

  it('refuses the 6-byte Parse that once crashed the process (name without NUL)', () => {
    expect(check(frame('P', Buffer.from('x')))).toMatch(/invalid P message format/);
  });

  it('refuses frames that are truncated, too long, or have bad counts', () => {
    const cases: Buffer[] = [
      frame('Q', Buffer.from('select 1')), // no NUL
      frame('Q', Buffer.from('select 1\0extra')), // bytes after the string
      frame('P', Buffer.from('s\0select 1\0')), // no type count
      frame('P', Buffer.from('s\0select 1\0\0\x02\0\0\0\x17')), // 2 types announced, 1 sent
      frame('P', Buffer.from('s\0select 1\0\xff\xff')), // negative count
      frame('B', Buffer.from('\0\0\0\0\0\x01\xff\xff\xff\xfe\0\0')), // parameter length -2
      frame('B', Buffer.from('\0\0\0\0\0\x01\0\0\0\x10ab\0\0')), // parameter longer than the frame
      frame('B', Buffer.from('\0\0\0\0\0\0')), // no result-format count
      frame('D', Buffer.from('Xname\0')), // bad kind
      frame('D', Buffer.from('S')), // no name
      frame('C', Buffer.from('')), // empty
      frame('E', Buffer.from('\0\0\0')), // short row count
      frame('S', Buffer.from('x')),
      frame('H', Buffer.from('x')),
      frame('F', Buffer.from([0, 0, 0, 1, 0, 1])),
    ];
    for (const f of cases) expect(check(f), f.toString('hex')).not.toBeNull();
  });

  it('refuses statement and portal names that are not UTF-8 (two byte strings must not share one decoded name)', () => {
    expect(check(frame('P', Buffer.from([0xff, 0, 0x73, 0, 0, 0])))).not.toBeNull();
    expect(check(frame('B', Buffer.from([0, 0xfe, 0x41, 0, 0, 0, 0, 0, 0, 0])))).not.toBeNull();
    expect(check(frame('C', Buffer.from([0x53, 0xc3, 0])))).not.toBeNull(); // truncated 2-byte sequence
    expect(check(frame('P', Buffer.from([0xc3, 0xa9, 0, 0x73, 0, 0, 0])))).toBeNull(); // é
  });

  it('a Parse named with multi-byte characters reports where its name ends as a byte offset (not its decoded length)', () => {
    const f = serialize.parse({ name: 'é名', text: 'select 2', types: [23] });
    const p = readParse(f, 0, f.length);
    expect(p.name).toBe('é名');
    expect(p.sql).toBe('select 2');
    expect(f[p.nameEnd]).toBe(0);
    expect(f.toString('utf8', p.nameEnd + 1, p.nameEnd + 9)).toBe('select 2');
  });

  it('property: whatever passes the check, the readers read without throwing and inside the frame', () => {
    const codes = ['Q', 'P', 'B', 'D', 'C', 'E', 'F', 'S', 'H', 'X', 'd', 'c', 'f'];
    // Bodies built from NULs, small counts and short strings hit the structure more often than noise.
    const piece = fc.oneof(
      fc.constant(Buffer.from([0])),
      fc.integer({ min: -2, max: 4 }).map((n) => {
        const b = Buffer.alloc(2);
        b.writeInt16BE(n);
        return b;
      }),
      fc.integer({ min: -2, max: 8 }).map((n) => {
        const b = Buffer.alloc(4);
        b.writeInt32BE(n);
        return b;
      }),
      fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)),
      fc.constantFrom(Buffer.from('S'), Buffer.from('P'), Buffer.from('name\0'), Buffer.from([0xff, 0xfe])),
    );
    fc.assert(
      fc.property(fc.constantFrom(...codes), fc.array(piece, { maxLength: 12 }), fc.nat(16), (code, parts, pad) => {
        const body = Buffer.concat(parts);
        // The frame sits inside a larger buffer, as in a read chunk: reading past its end must be caught.
        const inner = frame(code, body);
        const buf = Buffer.concat([Buffer.alloc(pad, 0x41), inner, Buffer.from('trailing\0\0\0')]);
        const start = pad;
        const end = pad + inner.length;
        const c = code.charCodeAt(0);
        if (checkFrontendFrame(c, buf, start, end) !== null) return;
        switch (c) {
          case FrontendCode.Query:
            expect(querySql(buf, start, end).length).toBeLessThanOrEqual(body.length);
            break;
          case FrontendCode.Parse: {
            const p = readParse(buf, start, end);
            expect(p.nameEnd).toBeLessThan(end);
            expect(p.sql.length).toBeLessThan(end - p.nameEnd);
            break;
          }
          case FrontendCode.Bind: {
            const b = readBindStatement(buf, start, end);
            expect(b.nameEnd).toBeLessThan(end);
            const r = rewriteBind(buf, start, end, 'mrd_1');
            expect(checkFrontendFrame(c, r, 0, r.length)).toBeNull();
            break;
          }
          case FrontendCode.Describe:
          case FrontendCode.Close: {
            readTargetName(buf, start, end);
            const r = rewriteTarget(buf, start, end, 'mrd_1');
            expect(checkFrontendFrame(c, r, 0, r.length)).toBeNull();
            break;
          }
        }
      }),
      { numRuns: 20_000 },
    );
  });
});
