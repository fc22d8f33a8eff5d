// ReadSlot / adoptAccepted / Input over real loopback sockets: a socket reuses its read buffer
// unless the handler keeps it, an adopted socket still counts for server.close(), TLS works on
// top of a slot socket, and pause() stops the callbacks.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Input, ReadSlot, adoptAccepted, keepReadBuffer } from '../../../src/net/read-slot.js';

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A server whose accepted sockets are adopted into slots; resolves with the first one. */
async function pair(): Promise<{ server: net.Server; client: net.Socket; accepted: Promise<{ socket: net.Socket; slot: ReadSlot }> }> {
  let resolveAccepted!: (v: { socket: net.Socket; slot: ReadSlot }) => void;
  const accepted = new Promise<{ socket: net.Socket; slot: ReadSlot }>((r) => (resolveAccepted = r));
  const server = net.createServer({ pauseOnConnect: true }, (raw) => {
    const slot = new ReadSlot();
    const socket = adoptAccepted(raw, slot);
    expect(socket).not.toBeNull();
    sockets.push(socket!);
    resolveAccepted({ socket: socket!, slot });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  sockets.push(client);
  await new Promise((r) => client.once('connect', r));
  return { server, client, accepted };
}

function nextChunk(slot: ReadSlot, keep: boolean): Promise<Buffer> {
  return new Promise((resolve) => {
    slot.handler = (chunk) => {
      slot.handler = null;
      if (keep) keepReadBuffer();
      resolve(chunk);
    };
  });
}

/** The onread path is Node.js's (net.Socket's `onread` option); Bun's transport has its own (bun-conn.ts). */
const ON_BUN = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';

describe.skipIf(ON_BUN)('ReadSlot', () => {
  it('reuses one buffer read after read: a view not kept is overwritten by the next read', async () => {
    const { client, accepted } = await pair();
    const { slot } = await accepted;
    const first = nextChunk(slot, false);
    client.write('aaaa');
    const a = await first;
    expect(a.toString()).toBe('aaaa');
    const second = nextChunk(slot, false);
    client.write('bbbb');
    const b = await second;
    expect(b.buffer).toBe(a.buffer);
    expect(a.toString()).toBe('bbbb'); // the same memory: no allocation per read
  });

  it('keepReadBuffer() moves the socket to a fresh buffer and leaves the kept view intact', async () => {
    const { client, accepted } = await pair();
    const { slot } = await accepted;
    const first = nextChunk(slot, true);
    client.write('kept');
    const a = await first;
    const second = nextChunk(slot, false);
    client.write('next');
    const b = await second;
    expect(b.buffer).not.toBe(a.buffer);
    expect(a.toString()).toBe('kept');
    expect(b.toString()).toBe('next');
  });

  it('pause() stops the callbacks until resume()', async () => {
    const { client, accepted } = await pair();
    const { socket, slot } = await accepted;
    const got: string[] = [];
    slot.handler = (c) => got.push(c.toString());
    socket.pause();
    client.write('x');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([]);
    socket.resume();
    await new Promise((r) => setTimeout(r, 100));
    expect(got.join('')).toBe('x');
  });

  it('an adopted socket ends the server connection it replaced (server.close() completes)', async () => {
    const { server, client, accepted } = await pair();
    const { socket } = await accepted;
    const closed = new Promise<void>((r) => server.close(() => r()));
    let done = false;
    void closed.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false); // still one connection open
    const gone = new Promise((r) => socket.once('close', r));
    client.end();
    await gone;
    await closed;
    expect(done).toBe(true);
  });

  it('emits end and close when the peer closes', async () => {
    const { client, accepted } = await pair();
    const { socket } = await accepted;
    const closed = new Promise((r) => socket.once('close', r));
    client.end();
    await closed;
    expect(socket.destroyed).toBe(true);
  });
});

describe.skipIf(ON_BUN)('Input', () => {
  it('routes chunks to one handler at a time and to none after set(null)', async () => {
    const { client, accepted } = await pair();
    const { socket, slot } = await accepted;
    const input = new Input(socket, slot);
    const a: string[] = [];
    const b: string[] = [];
    input.set((c) => a.push(c.toString()));
    client.write('1');
    await new Promise((r) => setTimeout(r, 50));
    input.set((c) => b.push(c.toString()));
    client.write('2');
    await new Promise((r) => setTimeout(r, 50));
    expect(a).toEqual(['1']);
    expect(b).toEqual(['2']);
  });

  it("falls back to 'data' events for a socket without a slot", async () => {
    const server = net.createServer((s) => {
      sockets.push(s);
      const input = new Input(s, null);
      input.set((c) => s.write(Buffer.concat([Buffer.from('echo:'), c])));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    sockets.push(client);
    const reply = new Promise<string>((r) => client.once('data', (d) => r(d.toString())));
    client.write('hi');
    expect(await reply).toBe('echo:hi');
  });
});
