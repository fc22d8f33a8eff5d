// A client that pipelines queries with large results and reads slowly must not make Meridian
// buffer the results (or its own pipelined queries) for it: what Meridian holds for the session —
// bytes queued to the client, bytes queued to its backend, frames held — stays within a window of
// a few megabytes whatever the result size (issue 16, bug 5: the client socket paused for one
// reason could be resumed by another). Prints the largest amount held.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import { sharedCluster, TEST_USERS, type Cluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: Cluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridian(cluster, { pool: 'mode: transaction, size: 2, queue_timeout: 20s' });
});

afterAll(async () => {
  await mer?.stop();
});

/** Meridian's buffered bytes for its sessions now: to clients, to their backends, held frames. */
function bufferedNow(): number {
  let max = 0;
  for (const s of mer.m.sessions.values()) {
    const b = s.attached;
    max = Math.max(max, s.socket.writableLength + (b?.socket.writableLength ?? 0) + s.held.bytes);
  }
  return max;
}

const WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * A client that reads only when told: the socket stays in paused mode, so Node takes at most its
 * read buffer's worth from the kernel per read() and the rest backs up toward Meridian.
 */
class SlowClient {
  private pending = Buffer.alloc(0);
  received = 0;
  readies = 0;
  private constructor(readonly socket: net.Socket) {}

  static async connect(port: number): Promise<SlowClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => {});
    const c = new SlowClient(socket);
    socket.write(serialize.startup({ user: 'plainuser', database: 'app' }));
    await c.readUntil(() => c.codes.includes('R'.charCodeAt(0)));
    socket.write(serialize.password(TEST_USERS.plainuser.password));
    await c.readUntil(() => c.readies >= 1);
    c.readies = 0;
    return c;
  }

  private readonly codes: number[] = [];

  /** One read: what Node has buffered for the socket (at most its high-water mark). */
  readOnce(): void {
    const chunk = this.socket.read() as Buffer | null;
    if (chunk === null) return;
    this.received += chunk.length;
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 5) {
      const len = buf.readInt32BE(pos + 1);
      if (buf.length - pos < 1 + len) break;
      const code = buf[pos]!;
      if (code === 0x5a) this.readies++;
      if (this.codes.length < 8) this.codes.push(code);
      pos += 1 + len;
    }
    buf = buf.subarray(pos);
    this.pending = Buffer.from(buf);
  }

  async readUntil(done: () => boolean, everyMs = 1, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('slow client: timed out');
      this.readOnce();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

describe('a slow reader', () => {
  it('pipelining large results: Meridian holds at most a small window for it', async () => {
    const c = await SlowClient.connect(mer.port);
    let maxHeld = 0;
    const sampler = setInterval(() => {
      maxHeld = Math.max(maxHeld, bufferedNow());
    }, 2);
    const t0 = Date.now();
    const requests = 4 * 201;
    try {
      const big = "select repeat('x', 100000) as v from generate_series(1, 60)"; // 6 MB per result
      const frames: Buffer[] = [];
      for (let i = 0; i < 4; i++) {
        frames.push(serialize.query(big));
        // Pipelined extended-protocol queries behind it, so requests keep flowing toward the server too.
        for (let k = 0; k < 200; k++)
          frames.push(serialize.parse({ text: `select ${k} as k, repeat('y', 2000) as pad` }), serialize.bind({}), serialize.execute({}), serialize.sync());
      }
      c.socket.write(Buffer.concat(frames));
      await c.readUntil(() => c.readies >= requests, 4); // at most one read buffer every 4 ms
    } finally {
      clearInterval(sampler);
      c.socket.destroy();
    }
    const secs = (Date.now() - t0) / 1000;
    console.log(
      `slow reader: ${(c.received / 1e6).toFixed(1)} MB read in ${secs.toFixed(1)} s; Meridian held at most ${(maxHeld / 1024).toFixed(0)} KiB for the session (window ${WINDOW_BYTES / 1024} KiB)`,
    );
    expect(c.received).toBeGreaterThan(24_000_000);
    expect(maxHeld).toBeLessThanOrEqual(WINDOW_BYTES);
  }, 120_000);
});
