// FrameList against a plain array model: push, shift, clear and copyIn in any order keep the
// same frames (code and bytes) in the same order, and clearing drops every buffer reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameList } from '../../../src/frontend/frame-list.js';

interface ModelFrame {
  code: number;
  bytes: string;
}

function framesOf(list: FrameList): ModelFrame[] {
  const out: ModelFrame[] = [];
  for (let i = list.head; i < list.tail; i++) {
    out.push({ code: list.codes[i]!, bytes: list.bufs[i]!.subarray(list.starts[i]!, list.ends[i]!).toString('hex') });
  }
  return out;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), code: fc.integer({ min: 1, max: 255 }), size: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('shift' as const) }),
  fc.record({ kind: fc.constant('clear' as const) }),
  fc.record({ kind: fc.constant('copyIn' as const), overwrite: fc.boolean() }),
);

describe('FrameList', () => {
  it('keeps the frames of a model list through push/shift/clear/copyIn', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const list = new FrameList();
        let model: ModelFrame[] = [];
        // One "read buffer" reused like a socket's: frames not copied in are views of it.
        const readBuf = Buffer.alloc(64);
        let fill = 1;
        for (const o of ops) {
          if (o.kind === 'push') {
            const start = (fill * 3) % 16;
            readBuf.fill(fill & 0xff, start, start + o.size);
            list.push(o.code, readBuf, start, start + o.size);
            model.push({ code: o.code, bytes: readBuf.subarray(start, start + o.size).toString('hex') });
            fill++;
            // Only the newest frame may stay a view: older ones are copied before the buffer moves on.
            expect(list.copyIn()).toBe(true);
          } else if (o.kind === 'shift') {
            list.shift();
            model = model.slice(1);
          } else if (o.kind === 'clear') {
            list.clear();
            model = [];
          } else {
            expect(list.copyIn()).toBe(true);
            if (o.overwrite) readBuf.fill(0xee); // the socket's next read: copies must not see it
          }
          expect(list.length).toBe(model.length);
          expect(framesOf(list)).toEqual(model);
          expect(list.bytes).toBe(model.reduce((a, f) => a + f.bytes.length / 2, 0));
          expect(list.lastCode).toBe(model.length > 0 ? model[model.length - 1]!.code : 0);
        }
      }),
    );
  });

  it('drops buffer references on clear and shift (no read buffer kept alive by a stale slot)', () => {
    const list = new FrameList();
    const a = Buffer.alloc(10);
    list.push(0x51, a, 0, 5);
    list.push(0x53, a, 5, 10);
    list.shift();
    expect(list.bufs[0]).toBeNull();
    list.clear();
    expect(list.bufs.every((b) => b === null)).toBe(true);
    expect(list.length).toBe(0);
    list.shift(); // on an empty list: a no-op, not a negative length
    expect(list.length).toBe(0);
    expect(list.bytes).toBe(0);
  });

  it('refuses to copy more than 16 KiB (the caller keeps the read buffer instead)', () => {
    const list = new FrameList();
    const big = Buffer.alloc(20_000);
    list.push(0x51, big, 0, 20_000);
    expect(list.copyIn()).toBe(false);
    expect(list.bufs[0]).toBe(big);
  });

  it('prepend puts whole frames ahead of those held, in order, after a shift moved the head', () => {
    const list = new FrameList();
    const a = Buffer.from('aaaaabbbbbccccc');
    list.push(0x50, a, 0, 5);
    list.push(0x42, a, 5, 10);
    list.push(0x53, a, 10, 15);
    list.shift();
    list.prepend([0x51, 0x51], [Buffer.from('xx'), Buffer.from('yyy')]);
    const got: string[] = [];
    for (let i = list.head; i < list.tail; i++)
      got.push(`${String.fromCharCode(list.codes[i]!)}:${list.bufs[i]!.toString('latin1', list.starts[i], list.ends[i])}`);
    expect(got).toEqual(['Q:xx', 'Q:yyy', 'B:bbbbb', 'S:ccccc']);
    expect(list.bytes).toBe(15);
  });
});
