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
