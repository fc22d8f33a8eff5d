// A node connection that dies under a session, Meridian run by Bun: the server's FATAL reaches the
// client of the transaction it held, the session's next request is refused, and Meridian (its pool,
// its other sessions) goes on serving. Exercises the Bun transport's close and error callbacks on
// node sockets. Prints the code the client saw and how long the lost backend took to be noticed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sharedCluster, type Cluster } from '../support/cluster.js';
import { startMeridianProcess, testRuntime, type MeridianProcess } from '../helpers/meridian-process.js';

let cluster: Cluster;
let mer: MeridianProcess;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridianProcess(cluster, { runtime: testRuntime(), pool: 'mode: transaction, size: 3, queue_timeout: 5s' });
});

afterAll(async () => {
  await mer?.stop();
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: mer.dsn(), connectionTimeoutMillis: 5000, query_timeout: 15_000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe(`a lost node connection, Meridian under ${testRuntime()}`, () => {
  it('a backend terminated inside a transaction: its client gets the error, everyone else carries on', async () => {
    const victim = await client();
    await victim.query('begin');
    const { pid } = (await victim.query('select pg_backend_pid() as pid')).rows[0] as { pid: number };
    const t0 = performance.now();
    await cluster.nodes[0]!.query('select pg_terminate_backend($1)', [pid]);
    let code = '';
    try {
      await victim.query('select 1');
    } catch (e) {
      code = (e as { code?: string }).code ?? String(e);
    }
    const ms = performance.now() - t0;
    await victim.end().catch(() => {});
    expect(code).toMatch(/^(57P01|08006|08003)$/);
    // The pool (size 3) must not have kept the dead backend: 30 transactions over 6 clients pass.
    const others = await Promise.all(Array.from({ length: 6 }, () => client()));
    try {
      for (let round = 0; round < 5; round++) {
        const rows = await Promise.all(
          others.map(async (c, i) => (await c.query({ text: 'select $1::int as v', values: [round * 10 + i] })).rows[0].v as number),
        );
        expect(rows).toEqual(others.map((_, i) => round * 10 + i));
      }
    } finally {
      await Promise.all(others.map((c) => c.end()));
    }
    console.log(
      `[runtime ${mer.runtime}] backend terminated in a transaction: the client got ${code} after ${ms.toFixed(0)} ms; 30 transactions on 6 other clients passed`,
    );
  });
});
