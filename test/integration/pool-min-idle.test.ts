// pool.min_idle against a real server: once a pool exists (first client of its user and database)
// the janitor keeps that many backends open, idle timeout does not close below it, a backend the
// server kills is replaced, and a draining node gets none.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sleep, startSingleNode, waitFor, type SingleCluster } from '../support/cluster.js';
import { ADMIN_PASSWORD, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: SingleCluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await startSingleNode();
  mer = await startMeridian(cluster, { pool: 'mode: transaction, size: 6, min_idle: 3, idle_timeout: 1s, queue_timeout: 5s' });
}, 120_000);

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

/** Meridian's backends for user md5user on the node (Meridian's probes log in as postgres). */
async function backends(): Promise<{ idle: number; total: number }> {
  const [r] = await cluster.nodes[0]!.query<{ idle: number; total: number }>(
    `select count(*) filter (where state = 'idle')::int as idle, count(*)::int as total
       from pg_stat_activity where usename = 'md5user' and backend_type = 'client backend'`,
  );
  return r!;
}

async function client(): Promise<pg.Client> {
  const c = new pg.Client(mer.dsn('md5user'));
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe('pool.min_idle', () => {
  it('opens nothing before the pool exists, then keeps min_idle backends open', async () => {
    await sleep(1500); // a few janitor ticks with no pool for md5user yet
    expect((await backends()).total).toBe(0);
    const c = await client();
    try {
      await c.query('select 1');
      await waitFor(async () => (await backends()).total === 3, { timeoutMs: 10_000, what: 'three backends open' });
      await sleep(1500);
      expect(await backends()).toEqual({ idle: 3, total: 3 }); // topped up to 3, not past it
    } finally {
      await c.end();
    }
  }, 30_000);

  it('idle timeout closes the backends above min_idle, not below', async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => client()));
    try {
      await Promise.all(clients.map((c) => c.query('select pg_sleep(0.3)')));
      expect((await backends()).total).toBe(6);
      // idle_timeout 1s, janitor once a second: the 3 above min_idle close within a few seconds.
      await waitFor(async () => (await backends()).total === 3, { timeoutMs: 10_000, what: 'three backends open' });
      await sleep(2500);
      expect((await backends()).total).toBe(3);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  }, 30_000);

  it('replaces a backend the server terminated', async () => {
    const node = cluster.nodes[0]!;
    const [victim] = await node.query<{ pid: number }>(
      `select pid from pg_stat_activity where usename = 'md5user' and backend_type = 'client backend' and state = 'idle' limit 1`,
    );
    await node.query(`select pg_terminate_backend(${victim!.pid})`);
    await waitFor(
      async () => {
        const [r] = await node.query<{ n: number; gone: boolean }>(
          `select count(*)::int as n, bool_and(pid <> ${victim!.pid}) as gone
           from pg_stat_activity where usename = 'md5user' and backend_type = 'client backend'`,
        );
        return r!.n === 3 && r!.gone;
      },
      { timeoutMs: 10_000, what: 'the terminated backend replaced' },
    );
    const c = await client();
    try {
      expect((await c.query('select 41 + 1 as x')).rows[0].x).toBe(42); // the pool still serves
    } finally {
      await c.end();
    }
  }, 30_000);

  it('does not refill a draining node', async () => {
    const admin = new pg.Client({ host: '127.0.0.1', port: mer.port, user: 'admin', password: ADMIN_PASSWORD, database: 'meridian' });
    await admin.connect();
    try {
      await admin.query(`DRAIN ${cluster.nodes[0]!.name} FORCE`); // the only node: FORCE
      await waitFor(async () => (await backends()).total === 0, { timeoutMs: 10_000, what: 'no backend on the drained node' });
      await sleep(2500);
      expect((await backends()).total).toBe(0);
      await admin.query(`UNDRAIN ${cluster.nodes[0]!.name}`);
      await waitFor(async () => (await backends()).total === 3, { timeoutMs: 10_000, what: 'three backends open' });
    } finally {
      await admin.end();
    }
  }, 40_000);
});
