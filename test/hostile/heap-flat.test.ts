// Issue 14: nothing a client does leaves memory behind. Cycles of ordinary sessions (simple and
// extended protocol, named statements, transactions), bursts of hostile clients (malformed frames
// before and after login), failed logins and backends terminated by the server; after each cycle
// a full garbage collection and Meridian's heap (in this process) is read. A leak of anything per
// session, per connection or per backend grows the heap cycle after cycle; its bookkeeping
// (sessions, the janitor's connections) must be back to zero too.

import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { badClientBurst } from '../../bench/lib/bad-clients.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { startSingleNode, TEST_USERS, type Cluster } from '../support/cluster.js';

/** A full collection: Bun's own call under Bun (vitest run by Bun), V8's exposed gc() on Node.js. */
const bunGc = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc;
const gc: () => void = bunGc !== undefined ? () => bunGc(true) : exposeV8Gc();

function exposeV8Gc(): () => void {
  v8.setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

let cluster: Cluster;
let mer: RunningMeridian;

beforeAll(async () => {
  // A node of its own: the test terminates every backend of user app, which other files' sessions
  // on a shared node would see.
  cluster = await startSingleNode();
  mer = await startMeridian(cluster, { pool: 'mode: transaction, size: 8' });
});

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

async function cycle(n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: 60 }, async (_, i) => {
      const c = new pg.Client(mer.dsn());
      c.on('error', () => {});
      await c.connect();
      await c.query('select $1::int + 1 as x', [i]);
      await c.query({ name: `s${i % 7}`, text: `select $1::int * ${i % 7} as y`, values: [n] });
      await c.query('begin');
      await c.query(`select ${n * 1000 + i} as z`);
      await c.query('commit');
      await c.end();
    }),
  );
  await badClientBurst(mer.port, 'plainuser', 'app', { count: 26, concurrency: 13, password: TEST_USERS.plainuser.password });
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      const c = new pg.Client(mer.dsn().replace(TEST_USERS.app.password, 'wrong-password'));
      c.on('error', () => {});
      await c.connect().catch(() => {});
    }),
  );
  await cluster.nodes[0]!.query(
    "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'app' and application_name <> 'meridian-probe' and pid <> pg_backend_pid()",
  );
}

it('the heap after garbage collection stays flat over cycles of sessions, hostile clients, failed logins and terminated backends', async () => {
  const heapKb: number[] = [];
  const t0 = Date.now();
  for (let n = 0; n < 10; n++) {
    await cycle(n);
    await new Promise((r) => setTimeout(r, 2500)); // a closed session's socket is destroyed 2 s later
    gc();
    gc();
    heapKb.push(Math.round(process.memoryUsage().heapUsed / 1024));
    expect(mer.m.sessions.size).toBe(0);
    expect(mer.m.janitor.size).toBe(0);
  }
  // The first cycles warm caches (classifier, pools, verifiers); from the third on nothing may grow.
  const base = Math.min(...heapKb.slice(2, 4));
  const last = Math.max(...heapKb.slice(-3));
  console.log(
    `heap after gc over 10 cycles (${Date.now() - t0} ms; 600 sessions, 260 hostile clients, 200 failed logins, backends terminated 10 times): ${heapKb.join(', ')} kB; growth from cycle 3 to the end ${last - base} kB`,
  );
  expect(last - base).toBeLessThan(1536);
}, 240_000);
