// Issue 17: the bench's bare Bun relay (bench/lib/bun-floor.ts) is a fair floor only if it is a
// correct relay: a peer that stops reading must stop the relay from reading the other side, not
// make it buffer everything. A loopback server pushes 96 MB at a client that reads nothing for a
// while (and a client pushes 96 MB at a server that does the same); the relay's RSS growth during
// the stall stays bounded, and every byte arrives, in order.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const TOTAL = 96 * 2 ** 20;
const STALL_MS = 1500;
const MAX_GROWTH_MB = 32;

let server: net.Server;
let relay: ChildProcess;
let relayPort = 0;
/** What the server does with each accepted connection (set per test). */
let onServerConn: (s: net.Socket) => void = (s) => s.destroy();

function payload(): Buffer {
  const b = Buffer.allocUnsafe(TOTAL);
  for (let i = 0; i < TOTAL; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
}
const DATA = payload();
const WANT = createHash('sha256').update(DATA).digest('hex');

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Reads `TOTAL` bytes from a socket (resumed after the stall) and resolves with their hash. */
function drainAfterStall(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let got = 0;
    s.pause();
    s.on('data', (d: Buffer) => {
      h.update(d);
      got += d.length;
      if (got === TOTAL) resolve(h.digest('hex'));
    });
    s.on('error', reject);
    setTimeout(() => s.resume(), STALL_MS);
  });
}

beforeAll(async () => {
  server = net.createServer((s) => onServerConn(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  relayPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const serverPort = (server.address() as net.AddressInfo).port;
  relay = spawn(join(REPO, 'node_modules', '.bin', 'bun'), [join(REPO, 'bench', 'lib', 'bun-floor.ts'), String(relayPort), String(serverPort)], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const c = net.connect(relayPort, '127.0.0.1', () => r(true)).on('error', () => r(false));
      c.on('connect', () => c.destroy());
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('bun-floor did not start listening');
});

afterAll(async () => {
  relay?.kill('SIGTERM');
  await new Promise<void>((r) => server?.close(() => r()));
});

async function stalled(direction: 'server→client' | 'client→server'): Promise<void> {
  const pid = relay.pid!;
  const before = rssMB(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMB(pid))), 50);
  let hash: Promise<string>;
  const client = net.connect(relayPort, '127.0.0.1');
  client.on('error', () => {});
  if (direction === 'server→client') {
    onServerConn = (s) => {
      s.on('error', () => {});
      s.end(DATA);
    };
    hash = drainAfterStall(client);
  } else {
    let resolveHash: (h: string) => void = () => {};
    hash = new Promise((r) => (resolveHash = r));
    onServerConn = (s) => void drainAfterStall(s).then(resolveHash);
    client.write(DATA);
  }
  const t0 = Date.now();
  expect(await hash).toBe(WANT);
  clearInterval(sampler);
  client.destroy();
  const growth = peak - before;
  console.log(
    `bun-floor, ${direction}: ${TOTAL / 2 ** 20} MB through a ${STALL_MS} ms stall in ${Date.now() - t0} ms; relay RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MB (+${growth.toFixed(1)} MB)`,
  );
  expect(growth).toBeLessThan(MAX_GROWTH_MB);
}

it('a client that stops reading pauses the server side: bounded memory, every byte in order', async () => {
  await stalled('server→client');
}, 30_000);

it('a server that stops reading pauses the client side: bounded memory, every byte in order', async () => {
  await stalled('client→server');
}, 30_000);
