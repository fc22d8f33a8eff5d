// Meridian run by Bun (a child process: `bun src/cli.ts`, the Bun transport on native sockets),
// checked from the outside like any server: simple and extended queries with node-postgres and
// psql, a transaction kept on one backend, a large result, pipelined queries, a client that goes
// away mid-result, a cancel request answered by a clean close (no reset), and SHOW VERSION
// naming the runtime. MERIDIAN_TEST_RUNTIME=node runs the same
// checks against a Node.js child process.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as connectTcp } from 'node:net';
import pg from 'pg';
import { sharedCluster, type Cluster } from '../support/cluster.js';
import { runPsql } from '../support/proc.js';
import { startMeridianProcess, testRuntime, type MeridianProcess } from '../helpers/meridian-process.js';

let cluster: Cluster;
let mer: MeridianProcess;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridianProcess(cluster, { runtime: testRuntime() });
});

afterAll(async () => {
  await mer?.stop();
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: mer.dsn(), connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe(`Meridian under ${testRuntime()}`, () => {
  it('answers simple and extended queries (node-postgres), served by the node', async () => {
    const c = await client();
    try {
      const simple = await c.query('select 1 as one, inet_server_port() as port');
      expect(simple.rows[0].one).toBe(1);
      expect(simple.rows[0].port).toBe(cluster.nodes[0]!.port);
      const ext = await c.query({ text: 'select $1::int + $2::int as sum', values: [2, 3] });
      expect(ext.rows[0].sum).toBe(5);
      const named = await c.query({ name: 'add', text: 'select $1::text || $2::text as s', values: ['a', 'b'] });
      expect(named.rows[0].s).toBe('ab');
      const again = await c.query({ name: 'add', text: 'select $1::text || $2::text as s', values: ['c', 'd'] });
      expect(again.rows[0].s).toBe('cd');
    } finally {
      await c.end();
    }
  });

  it('psql: several statements and an error', async () => {
    const r = await runPsql({ port: mer.port, user: 'app', password: 'app-secret', command: ['select 40 + 2', 'select current_user'] });
    expect(r.stdout.trim().split('\n')).toEqual(['42', 'app']);
    const bad = await runPsql({ port: mer.port, user: 'app', password: 'app-secret', command: 'select 1/0', check: false });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('division by zero');
  });

  it('a transaction stays on one backend and rolls back', async () => {
    const c = await client();
    try {
      await c.query('begin');
      const a = await c.query('select pg_backend_pid() as pid');
      await c.query('create temp table t_rt(x int)');
      await c.query('insert into t_rt values (1), (2)');
      const b = await c.query('select pg_backend_pid() as pid, (select count(*) from t_rt)::int as n');
      expect(b.rows[0].pid).toBe(a.rows[0].pid);
      expect(b.rows[0].n).toBe(2);
      await c.query('rollback');
      const after = await c.query("select to_regclass('pg_temp.t_rt') is null as gone");
      expect(after.rows[0].gone).toBe(true);
    } finally {
      await c.end();
    }
  });

  it('a large result arrives whole (backpressure both ways)', async () => {
    const c = await client();
    try {
      const t0 = performance.now();
      const r = await c.query("select i, repeat('x', 200) as pad from generate_series(1, 200000) i");
      const ms = performance.now() - t0;
      expect(r.rows.length).toBe(200000);
      expect(r.rows[199999].i).toBe(200000);
      const big = await c.query({ text: 'select length($1::text) as n', values: ['y'.repeat(8 * 1024 * 1024)] });
      expect(big.rows[0].n).toBe(8 * 1024 * 1024);
      console.log(`[runtime ${mer.runtime}] 200 000 rows × ~210 B in ${ms.toFixed(0)} ms; an 8 MiB parameter went through`);
    } finally {
      await c.end();
    }
  });

  it('pipelined queries from many clients at once', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => client()));
    try {
      const t0 = performance.now();
      const results = await Promise.all(
        clients.flatMap((c, i) => Array.from({ length: 50 }, (_, j) => c.query({ text: 'select $1::int as v', values: [i * 1000 + j] }))),
      );
      const ms = performance.now() - t0;
      expect(results.map((r) => r.rows[0].v).sort((a, b) => a - b)).toEqual(
        clients.flatMap((_, i) => Array.from({ length: 50 }, (_, j) => i * 1000 + j)).sort((a, b) => a - b),
      );
      console.log(`[runtime ${mer.runtime}] 400 pipelined extended queries over 8 clients in ${ms.toFixed(0)} ms`);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('a client that disconnects mid-result does not hurt the next one', async () => {
    const c = await client();
    void c.query('select i from generate_series(1, 2000000) i').catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const d = await client();
    try {
      const r = await d.query('select 7 as seven');
      expect(r.rows[0].seven).toBe(7);
    } finally {
      await d.end();
    }
  });

  it('a cancel request cancels the query, and its connection is closed cleanly (FIN, not a reset)', async () => {
    const c = await client();
    try {
      const pid = (c as unknown as { processID: number }).processID;
      const secret = (c as unknown as { secretKey: number }).secretKey;
      const outcome = c.query('select pg_sleep(10)').then(
        () => 'finished',
        (e: { code?: string }) => e.code,
      );
      await new Promise((r) => setTimeout(r, 300));
      // A raw connection, as libpq's PQcancel opens one: send the 16 bytes, read until the server closes.
      const how = await new Promise<string>((resolve) => {
        const s = connectTcp(mer.port, '127.0.0.1');
        const packet = Buffer.alloc(16);
        packet.writeInt32BE(16, 0);
        packet.writeInt32BE(80877102, 4);
        packet.writeInt32BE(pid, 8);
        packet.writeInt32BE(secret, 12);
        let ended = false;
        s.on('connect', () => s.write(packet));
        s.on('end', () => (ended = true));
        s.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
        s.on('close', () => resolve(ended ? 'closed by FIN' : 'closed without FIN'));
        setTimeout(() => (s.destroy(), resolve('still open after 3 s')), 3000).unref();
      });
      console.log(`cancel connection under ${mer.runtime}: ${how}`);
      expect(how).toBe('closed by FIN');
      expect(await outcome).toBe('57014');
      expect((await c.query('select 1 as x')).rows[0].x).toBe(1);
    } finally {
      await c.end();
    }
  });

  it('SHOW VERSION on the admin console names the runtime', async () => {
    const c = new pg.Client({ connectionString: `postgres://admin:admin-console-test-pw@127.0.0.1:${mer.port}/meridian` });
    c.on('error', () => {});
    await c.connect();
    try {
      const r = await c.query('SHOW VERSION');
      expect(JSON.stringify(r.rows)).toContain(mer.runtime === 'bun' ? 'Bun' : 'Node.js');
    } finally {
      await c.end();
    }
  });
});
