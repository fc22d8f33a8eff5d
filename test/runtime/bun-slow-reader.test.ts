// A client that asks for a 100 MB result and does not read it must not make Meridian run by Bun
// buffer the result: Bun's write() takes what the kernel takes, BunConn queues the rest and says
// "wait" (write returns false), and the session pauses the node's socket until the client drains.
// Measured from outside: the Meridian process's RSS growth while the client does not read.
// Prints the growth and the time to read it all afterwards.

import net from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import { sharedCluster, TEST_USERS, type Cluster } from '../support/cluster.js';
import { startMeridianProcess, testRuntime, type MeridianProcess } from '../helpers/meridian-process.js';

let cluster: Cluster;
let mer: MeridianProcess;

const ROWS = 100_000;
const ROW_BYTES = 1000;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridianProcess(cluster, { runtime: testRuntime() });
});

afterAll(async () => {
  await mer?.stop();
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Counts ReadyForQuery frames and bytes on a raw socket; resolves `ready(n)` when n have arrived. */
function reader(socket: net.Socket): { bytes: () => number; ready: (n: number, timeoutMs: number) => Promise<void> } {
  let pending = Buffer.alloc(0);
  let bytes = 0;
  let readies = 0;
  let waiter: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 5) {
      const len = buf.readInt32BE(pos + 1);
      if (buf.length - pos < 1 + len) break;
      if (buf[pos] === 0x5a) readies++;
      pos += 1 + len;
    }
    buf = buf.subarray(pos);
    pending = Buffer.from(buf);
    waiter?.();
  });
  return {
    bytes: () => bytes,
    ready: (n, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${readies} of ${n} ReadyForQuery after ${timeoutMs} ms`)), timeoutMs);
        waiter = () => {
          if (readies >= n) {
            clearTimeout(t);
            waiter = null;
            resolve();
          }
        };
        waiter();
      }),
  };
}

describe(`a client that does not read, Meridian under ${testRuntime()}`, () => {
  it('Meridian holds back a 100 MB result instead of buffering it', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: mer.port });
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const r = reader(socket);
    socket.write(serialize.startup({ user: 'plainuser', database: 'app' }));
    await new Promise((res) => setTimeout(res, 300));
    socket.write(serialize.password(TEST_USERS.plainuser.password));
    await r.ready(1, 10_000);
    const pid = mer.child.pid!;
    const before = rssBytes(pid);
    socket.pause();
    socket.write(serialize.query(`select repeat('x', ${ROW_BYTES}) from generate_series(1, ${ROWS})`));
    await new Promise((res) => setTimeout(res, 3000));
    const during = rssBytes(pid);
    const t0 = performance.now();
    socket.resume();
    await r.ready(2, 60_000);
    const readMs = performance.now() - t0;
    socket.write(serialize.end());
    socket.end();
    const growthMb = (during - before) / 1024 / 1024;
    console.log(
      `[runtime ${mer.runtime}] ${((ROWS * ROW_BYTES) / 1e6).toFixed(0)} MB result unread for 3 s: RSS ${(before / 1048576).toFixed(0)} → ${(during / 1048576).toFixed(0)} MB (+${growthMb.toFixed(1)} MB); read in ${readMs.toFixed(0)} ms afterwards`,
    );
    expect(r.bytes()).toBeGreaterThan(ROWS * ROW_BYTES);
    expect(growthMb).toBeLessThan(40);
  });
});
