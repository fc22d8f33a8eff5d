// SpanWriter over a real loopback socket: contiguous spans merge, frames keep their order among
// spans, and a writer reused for many flushes sends exactly what was queued each time.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SpanWriter } from '../../../src/backend/span-writer.js';

let server: net.Server | null = null;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server !== null) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

async function pair(): Promise<{ writer: net.Socket; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const accepted = new Promise<net.Socket>((resolve) => {
    server = net.createServer((s) => {
      sockets.push(s);
      s.on('data', (c: Buffer) => chunks.push(c));
      resolve(s);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const port = (server!.address() as net.AddressInfo).port;
  const writer = net.connect(port, '127.0.0.1');
  sockets.push(writer);
  await new Promise<void>((r) => writer.once('connect', () => r()));
  await accepted;
  return { writer, received: () => Buffer.concat(chunks) };
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for bytes');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SpanWriter', () => {
  it('sends spans and frames in the order queued, across many reused flushes', async () => {
    const { writer, received } = await pair();
    const out = new SpanWriter();
    out.socket = writer;
    const expected: Buffer[] = [];
    const chunk = Buffer.from('abcdefghijklmnopqrstuvwxyz');
    for (let round = 0; round < 50; round++) {
      const parts = 1 + (round % 5);
      for (let p = 0; p < parts; p++) {
        if ((round + p) % 3 === 0) {
          const f = Buffer.from(`<${round}.${p}>`);
          out.frame(f);
          expected.push(f);
        } else {
          const a = (round + p) % 20;
          out.span(chunk, a, a + 3);
          out.span(chunk, a + 3, a + 6); // contiguous: merged with the previous span
          expected.push(chunk.subarray(a, a + 6));
        }
      }
      expect(out.hasPending).toBe(true);
      expect(out.flush()).toBe(true);
      expect(out.hasPending).toBe(false);
      expect(out.flush()).toBe(true); // nothing pending: no write
    }
    const want = Buffer.concat(expected);
    await until(() => received().length >= want.length);
    expect(received().equals(want)).toBe(true);
    expect(out.bytesOut).toBe(want.length);
  });

  it('discard() drops what is pending; the next flush sends only what came after', async () => {
    const { writer, received } = await pair();
    const out = new SpanWriter();
    out.socket = writer;
    out.frame(Buffer.from('dropped'));
    out.span(Buffer.from('also dropped'), 0, 4);
    out.discard();
    expect(out.hasPending).toBe(false);
    out.frame(Buffer.from('kept'));
    out.flush();
    await until(() => received().length >= 4);
    await new Promise((r) => setTimeout(r, 50));
    expect(received().toString()).toBe('kept');
  });
});
