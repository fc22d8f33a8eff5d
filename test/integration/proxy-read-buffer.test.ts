// Sockets read into a buffer that their next read overwrites (src/net/read-slot.ts). Requests that
// wait — for a backend from a full pool, behind a request in flight — must not change while they
// wait: here a client pipelines statements of many sizes (a few bytes to more than the read
// buffer), simple and extended, in several bursts while the only backend is taken, and every
// statement's own payload must come back byte for byte, in order.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { sharedCluster, TEST_USERS, type Cluster } from '../support/cluster.js';
import { RawClient } from '../drivers/raw-client.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: Cluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridian(cluster, { pool: 'mode: transaction, size: 1, queue_timeout: 20s' });
});

afterAll(async () => {
  await mer?.stop();
});

const SIZES = [1, 10, 300, 5_000, 16_000, 17_000, 40_000, 70_000, 150_000];

function payload(i: number, size: number): string {
  // Distinct content per statement, so a frame overwritten by another shows up as wrong text.
  const unit = `${i.toString(36)}-${'abcdefghijklmnopqrstuvwxyz'[i % 26]}|`;
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

describe('requests that wait keep their bytes', () => {
  it('pipelined statements of every size, sent in bursts while the pool is empty, come back intact', async () => {
    const raw = await RawClient.connect(mer.port, 'plainuser', TEST_USERS.plainuser.password);
    const holder = new pg.Client({ connectionString: mer.dsn() });
    await holder.connect();
    await holder.query('begin');
    await holder.query('select 1'); // the only backend is now inside holder's transaction

    const wants: string[] = [];
    for (let burst = 0; burst < 4; burst++) {
      const frames: Buffer[] = [];
      for (const size of SIZES) {
        const n = wants.length;
        const want = payload(n, size);
        wants.push(want);
        if (n % 2 === 0) frames.push(serialize.query(`select '${want}'::text as v`));
        else {
          // Extended protocol, unnamed statement, text parameter.
          frames.push(
            serialize.parse({ text: 'select $1::text as v' }),
            serialize.bind({ values: [want] }),
            serialize.describe({ type: 'P' }),
            serialize.execute(),
            serialize.sync(),
          );
        }
      }
      raw.send(Buffer.concat(frames));
      await new Promise((r) => setTimeout(r, 40)); // the next burst arrives in later reads
    }
    await new Promise((r) => setTimeout(r, 100));
    await holder.query('commit');
    for (let n = 0; n < wants.length; n++) {
      const msgs = await raw.until('readyForQuery');
      const row = msgs.find((m) => m.name === 'dataRow') as unknown as { fields: string[] } | undefined;
      expect(row, `statement ${n}: ${msgs.map((m) => m.name).join(',')}`).toBeDefined();
      expect(row!.fields[0]!.length, `statement ${n}`).toBe(wants[n]!.length);
      expect(row!.fields[0] === wants[n], `statement ${n} payload`).toBe(true);
    }
    raw.socket.end();
    await holder.end();
  });

  it('many clients queueing for few backends each get their own answers (pgbench-like churn)', async () => {
    const clients = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const c = new pg.Client({ connectionString: mer.dsn() });
        await c.connect();
        return c;
      }),
    );
    const rounds = 40;
    await Promise.all(
      clients.map(async (c, k) => {
        for (let r = 0; r < rounds; r++) {
          const want = payload(k * 1000 + r, (k * 997 + r * 131) % 3000);
          const res = await c.query(k % 2 === 0 ? `select '${want}'::text as v, ${k} as k` : { text: 'select $1::text as v, $2::int as k', values: [want, k] });
          expect(res.rows[0].k).toBe(k);
          expect(res.rows[0].v).toBe(want);
        }
      }),
    );
    await Promise.all(clients.map((c) => c.end()));
  });
});
