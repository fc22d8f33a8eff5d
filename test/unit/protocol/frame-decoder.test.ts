import { describe, expect, it } from 'vitest';
import { DecodeResult, FrameDecoder, type FrameSink } from '../../../src/protocol/frame-decoder.js';
import { serialize } from 'pg-protocol';

/** Collects frames as copies (the decoder hands out views). */
class Collect implements FrameSink {
  frames: Array<{ code: number; bytes: Buffer }> = [];
  onFrame(code: number, buf: Buffer, start: number, end: number): void {
    this.frames.push({ code, bytes: Buffer.from(buf.subarray(start, end)) });
  }
}

function stream(): Buffer {
  return Buffer.concat([
    serialize.query('select 1'),
    serialize.parse({ name: 's1', text: 'select $1::int', types: [23] }),
    serialize.bind({ statement: 's1', values: ['42'] }),
    serialize.describe({ type: 'P' }),
    serialize.execute({}),
    serialize.sync(),
    serialize.copyData(Buffer.alloc(10_000, 7)),
    serialize.flush(),
  ]);
}

function feedAll(chunks: Buffer[]): Collect {
  const d = new FrameDecoder(1 << 20);
  const c = new Collect();
  for (const ch of chunks) expect(d.feed(ch, c)).toBe(DecodeResult.Ok);
  expect(d.hasPartial).toBe(false);
  return c;
}

describe('FrameDecoder', () => {
  const whole = stream();
  const expected = feedAll([whole]).frames;

  it('decodes a whole buffer into every frame', () => {
    expect(expected.map((f) => String.fromCharCode(f.code)).join('')).toBe('QPBDESdH');
    expect(Buffer.concat(expected.map((f) => f.bytes)).equals(whole)).toBe(true);
  });

  it('gives the same frames when split at every byte offset', () => {
    for (let i = 1; i < whole.length; i++) {
      const got = feedAll([whole.subarray(0, i), whole.subarray(i)]).frames;
      expect(got.length).toBe(expected.length);
      for (let k = 0; k < got.length; k++) expect(got[k]!.bytes.equals(expected[k]!.bytes)).toBe(true);
    }
  });

  it('gives the same frames when fed one byte at a time', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < whole.length; i++) chunks.push(whole.subarray(i, i + 1));
    const got = feedAll(chunks).frames;
    expect(Buffer.concat(got.map((f) => f.bytes)).equals(whole)).toBe(true);
  });

  it('rejects a frame longer than the limit without buffering it', () => {
    const d = new FrameDecoder(1000);
    const f = Buffer.alloc(5);
    f[0] = 0x51;
    f.writeInt32BE(5000, 1);
    expect(d.feed(f, new Collect())).toBe(DecodeResult.TooLarge);
    expect(d.lastBadLength).toBe(5000);
  });

  it('rejects a declared length below 4, also when the header straddles chunks', () => {
    const f = Buffer.from([0x51, 0, 0, 0, 2]);
    expect(new FrameDecoder(100).feed(f, new Collect())).toBe(DecodeResult.BadLength);
    const d = new FrameDecoder(100);
    expect(d.feed(f.subarray(0, 3), new Collect())).toBe(DecodeResult.Ok);
    expect(d.feed(f.subarray(3), new Collect())).toBe(DecodeResult.BadLength);
  });

  it('hands out views of the chunk for frames wholly inside it (no copy)', () => {
    const d = new FrameDecoder(1 << 20);
    const bufs: Buffer[] = [];
    d.feed(whole, { onFrame: (_c, buf) => bufs.push(buf) });
    expect(bufs.every((b) => b === whole)).toBe(true);
  });
});

describe('FrameDecoder memory (issue 14, finding 2)', () => {
  it('a header claiming a large frame costs the bytes that arrived, not the bytes claimed', () => {
    const sink = new Collect();
    const before = process.memoryUsage().arrayBuffers;
    const decoders: FrameDecoder[] = [];
    for (let i = 0; i < 200; i++) {
      const d = new FrameDecoder(64 * 1024 * 1024);
      const head = Buffer.alloc(5 + 100);
      head[0] = 0x51;
      head.writeInt32BE(60 * 1024 * 1024, 1); // 60 MB announced, 100 bytes sent
      expect(d.feed(head, sink)).toBe(DecodeResult.Ok);
      decoders.push(d);
    }
    const grownMb = (process.memoryUsage().arrayBuffers - before) / 1024 / 1024;
    // Allocating what the headers claim would be 12 000 MB.
    expect(grownMb).toBeLessThan(50);
    expect(decoders.every((d) => d.hasPartial)).toBe(true);
  });

  it('a large frame sent in small pieces arrives whole and intact', () => {
    const d = new FrameDecoder(64 * 1024 * 1024);
    const c = new Collect();
    const big = serialize.copyData(Buffer.alloc(3 * 1024 * 1024 + 7, 9));
    for (let i = 0; i < big.length; i += 4096) expect(d.feed(big.subarray(i, Math.min(big.length, i + 4096)), c)).toBe(DecodeResult.Ok);
    expect(c.frames).toHaveLength(1);
    expect(c.frames[0]!.bytes.equals(big)).toBe(true);
  });

  it('takePartial hands out the partial frame and leaves the decoder empty', () => {
    const d = new FrameDecoder(1 << 20);
    const q = serialize.query('select 1');
    expect(d.feed(q.subarray(0, 7), new Collect())).toBe(DecodeResult.Ok);
    expect(d.takePartial()!.equals(q.subarray(0, 7))).toBe(true);
    expect(d.hasPartial).toBe(false);
    expect(d.takePartial()).toBeNull();
  });
});
