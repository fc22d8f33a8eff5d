// Proves every fixture of test/support against real PostgreSQL: the shared clusters (via the broker),
// clusters of our own (stop/start, promote, replay pause, subscription disable), the test roles'
// authentication methods, and the latency relay's delay and faults.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  sharedCluster,
  startActiveActive,
  startPrimaryStandby,
  startSingleNode,
  SharedClusterError,
  TEST_USERS,
  uniqueName,
  waitFor,
  type PgNode,
} from '../support/cluster.js';
import { startRelay } from '../support/latency-relay.js';
import { pidState } from '../support/pg-bin.js';
import { runPsql } from '../support/proc.js';

async function rowVisible(node: PgNode, table: string, id: number): Promise<boolean> {
  const rows = await node.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id]);
  return rows.length === 1;
}

function clientFor(node: { host: string; port: number }, user: keyof typeof TEST_USERS, password?: string): pg.Client {
  const u = TEST_USERS[user];
  return new pg.Client({ host: node.host, port: node.port, user: u.name, password: password ?? u.password, database: 'app' });
}

async function selectOne(client: pg.Client): Promise<number> {
  await client.connect();
  try {
    const r = await client.query<{ one: number }>('SELECT 1 AS one');
    return r.rows[0]?.one ?? 0;
  } finally {
    await client.end();
  }
}

describe('shared single node', () => {
  it('answers queries as postgres on 127.0.0.1, database app', async () => {
    const cluster = await sharedCluster('single');
    const [node] = cluster.nodes;
    expect(node?.host).toBe('127.0.0.1');
    const [row] = await cluster.node('n1').query<{ port: number; db: string }>('SELECT inet_server_port() AS port, current_database() AS db');
    expect(row).toEqual({ port: node?.port, db: 'app' });
  });

  it('authenticates app (scram), md5user (md5) and plainuser (password); rejects a wrong password', async () => {
    const node = (await sharedCluster('single')).node('n1');
    expect(await selectOne(clientFor(node, 'app'))).toBe(1);
    expect(await selectOne(clientFor(node, 'md5user'))).toBe(1);
    expect(await selectOne(clientFor(node, 'plainuser'))).toBe(1);
    await expect(selectOne(clientFor(node, 'app', 'wrong'))).rejects.toMatchObject({ code: '28P01' });
    const [enc] = await node.query<{ rolname: string; kind: string }>(
      "SELECT rolname, left(rolpassword, 3) AS kind FROM pg_authid WHERE rolname IN ('app', 'md5user') ORDER BY 1",
    );
    expect(enc).toEqual({ rolname: 'app', kind: 'SCR' });
  });

  it('lets the app role create and use tables in schema public; psql works against it', async () => {
    const cluster = await sharedCluster('single');
    const node = cluster.node('n1');
    const table = uniqueName('harness');
    const client = clientFor(node, 'app');
    await client.connect();
    await client.query(`CREATE TABLE ${table}(id int)`);
    await client.query(`INSERT INTO ${table} VALUES (42)`);
    await client.end();
    const out = await runPsql({ port: node.port, user: 'md5user', password: TEST_USERS.md5user.password, command: 'SELECT count(*) FROM accounts' });
    expect(out.stdout.trim()).toBe('0');
    await cluster.exec(`DROP TABLE ${table}`);
  });

  it('refuses destructive operations on a shared cluster', async () => {
    const cluster = await sharedCluster('single');
    await expect(cluster.node('n1').stop()).rejects.toBeInstanceOf(SharedClusterError);
  });
});

describe('shared active-active (pglogical)', () => {
  it('replicates an insert on each node to the other two', async () => {
    const cluster = await sharedCluster('pglogical');
    expect(cluster.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    const base = Math.floor(Math.random() * 1e9) * 10;
    for (const [i, src] of cluster.nodes.entries()) {
      const id = base + i;
      await src.query("INSERT INTO accounts VALUES ($1, 'harness', 1, now())", [id]);
      for (const dst of cluster.nodes.filter((n) => n !== src)) {
        await waitFor(() => rowVisible(dst, 'accounts', id), { timeoutMs: 30_000, what: `row ${id} from ${src.name} on ${dst.name}` });
      }
    }
  });

  it('replicates a table created with exec() and addToReplicationSet()', async () => {
    const cluster = await sharedCluster('pglogical');
    const table = uniqueName('harness');
    await cluster.exec(`CREATE TABLE ${table}(id bigint PRIMARY KEY, v text)`);
    await cluster.addToReplicationSet(table);
    await cluster.node('n2').query(`INSERT INTO ${table} VALUES (1, 'from n2')`);
    await waitFor(() => rowVisible(cluster.node('n1'), table, 1), { timeoutMs: 30_000, what: `${table} row on n1` });
    await waitFor(() => rowVisible(cluster.node('n3'), table, 1), { timeoutMs: 30_000, what: `${table} row on n3` });
  });
});

describe('shared primary + 2 standbys (physical)', () => {
  it('replays an insert on both standbys, which are in recovery', async () => {
    const cluster = await sharedCluster('physical');
    expect(cluster.standbys.map((s) => s.name)).toEqual(['s1', 's2']);
    const id = Math.floor(Math.random() * 1e12);
    await cluster.primary.query("INSERT INTO accounts VALUES ($1, 'harness', 1, now())", [id]);
    await cluster.waitReplayed();
    for (const s of cluster.standbys) {
      expect(await rowVisible(s, 'accounts', id)).toBe(true);
      const [r] = await s.query<{ rec: boolean }>('SELECT pg_is_in_recovery() AS rec');
      expect(r?.rec).toBe(true);
    }
    const [p] = await cluster.primary.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'");
    expect(p?.n).toBe(2);
  });
});

describe('clusters of our own', () => {
  it('single node: stop, start again on the same port, stop() leaves nothing behind', async () => {
    const cluster = await startSingleNode();
    const node = cluster.node('n1');
    expect(cluster.isShared).toBe(false);
    const pid = (node as unknown as { pid: number }).pid;
    await node.query('CREATE TABLE kept(id int); INSERT INTO kept VALUES (7)');
    await node.stop();
    expect(node.isRunning()).toBe(false);
    await node.start();
    expect(await node.query('SELECT id FROM kept')).toEqual([{ id: 7 }]);
    const pid2 = (node as unknown as { pid: number }).pid;
    await cluster.stop();
    expect(node.isRunning()).toBe(false);
    expect(pidState(pid)).not.toBe('alive');
    expect(pidState(pid2)).toBe('gone'); // reaped, not a zombie
    expect(existsSync(node.dataDir)).toBe(false);
  }, 180_000);

  it('physical: pause/resume replay on s1, promote s2', async () => {
    const cluster = await startPrimaryStandby();
    try {
      await cluster.pauseReplay('s1');
      await cluster.primary.query("INSERT INTO accounts VALUES (1, 'while paused', 1, now())");
      const s2 = cluster.node('s2');
      await waitFor(() => rowVisible(s2, 'accounts', 1), { what: 'row on s2' });
      expect(await rowVisible(cluster.node('s1'), 'accounts', 1)).toBe(false);
      await cluster.resumeReplay('s1');
      await waitFor(() => rowVisible(cluster.node('s1'), 'accounts', 1), { what: 'row on s1 after resume' });

      await s2.promote();
      const [r] = await s2.query<{ rec: boolean }>('SELECT pg_is_in_recovery() AS rec');
      expect(r?.rec).toBe(false);
      await s2.query("INSERT INTO accounts VALUES (2, 'on promoted s2', 1, now())");
    } finally {
      await cluster.stop();
    }
  }, 180_000);

  it('active-active with 2 nodes: a disabled subscription cuts one direction only; a restarted node catches up', async () => {
    const cluster = await startActiveActive({ nodes: 2 });
    try {
      await cluster.disableSubscription('n2', 'n1');
      await cluster.node('n1').query("INSERT INTO accounts VALUES (1, 'n1', 1, now())");
      await cluster.node('n2').query("INSERT INTO accounts VALUES (2, 'n2', 1, now())");
      await waitFor(() => rowVisible(cluster.node('n1'), 'accounts', 2), { what: 'n2 row on n1' });
      expect(await rowVisible(cluster.node('n2'), 'accounts', 1)).toBe(false);
      await cluster.enableSubscription('n2', 'n1');
      await waitFor(() => rowVisible(cluster.node('n2'), 'accounts', 1), { what: 'n1 row on n2 after enable' });
      // a restarted node resumes replication both ways
      await cluster.node('n1').stop('fast');
      await cluster.node('n2').query("INSERT INTO accounts VALUES (3, 'n2 while n1 down', 1, now())");
      await cluster.node('n1').start();
      await cluster.waitReplicating();
      await waitFor(() => rowVisible(cluster.node('n1'), 'accounts', 3), { what: 'row written while n1 was down, on n1' });
      await cluster.node('n1').query("INSERT INTO accounts VALUES (4, 'n1 after restart', 1, now())");
      await waitFor(() => rowVisible(cluster.node('n2'), 'accounts', 4), { what: 'n1 row on n2 after restart' });
    } finally {
      await cluster.stop();
    }
  }, 180_000);
});

describe('latency relay', () => {
  let node: PgNode;
  beforeAll(async () => {
    node = (await sharedCluster('single')).node('n1');
  });

  async function medianRttMs(client: pg.Client, samples = 15): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await client.query('SELECT 1');
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(samples / 2)] ?? 0;
  }

  it('adds the configured delay each way, and setDelay changes it', async () => {
    const relay = await startRelay({ targetHost: node.host, targetPort: node.port, delayMs: 20 });
    const client = new pg.Client({ host: relay.host, port: relay.port, user: 'postgres', database: 'app' });
    try {
      await client.connect();
      const direct = new pg.Client({ host: node.host, port: node.port, user: 'postgres', database: 'app' });
      await direct.connect();
      const base = await medianRttMs(direct);
      await direct.end();
      const delayed = await medianRttMs(client);
      relay.setDelay(5);
      const faster = await medianRttMs(client);
      const seen = `median RTT direct ${base.toFixed(1)} ms, via 20 ms relay ${delayed.toFixed(1)} ms, via 5 ms relay ${faster.toFixed(1)} ms`;
      // a relay can never be faster than its delay; the upper bound only catches gross errors
      // (the relay shares this process's event loop, which a loaded host starves)
      expect(delayed, seen).toBeGreaterThanOrEqual(40);
      expect(delayed, seen).toBeLessThan(40 + base + 500);
      expect(faster, seen).toBeGreaterThanOrEqual(10);
      expect(faster, seen).toBeLessThan(delayed);
    } finally {
      await client.end().catch(() => {});
      await relay.close();
    }
  });

  it('blackhole swallows traffic of live connections; lifting it closes them', async () => {
    const relay = await startRelay({ targetHost: node.host, targetPort: node.port, delayMs: 0 });
    const client = new pg.Client({ host: relay.host, port: relay.port, user: 'postgres', database: 'app' });
    client.on('error', () => {});
    try {
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      relay.blackhole(true);
      const q = client.query('SELECT 2');
      const outcome = await Promise.race([
        q.then(
          () => 'answered',
          () => 'failed',
        ),
        new Promise((r) => setTimeout(() => r('silent'), 500)),
      ]);
      expect(outcome).toBe('silent');
      relay.blackhole(false);
      await expect(q).rejects.toThrow();
      // a new connection works again
      const again = new pg.Client({ host: relay.host, port: relay.port, user: 'postgres', database: 'app' });
      expect(await selectOne(again)).toBe(1);
    } finally {
      await client.end().catch(() => {});
      await relay.close();
    }
  });

  it('refuse resets live connections and refuses new ones until lifted', async () => {
    const relay = await startRelay({ targetHost: node.host, targetPort: node.port, delayMs: 1 });
    const client = new pg.Client({ host: relay.host, port: relay.port, user: 'postgres', database: 'app' });
    client.on('error', () => {});
    try {
      await client.connect();
      await relay.refuse(true);
      await expect(client.query('SELECT 1')).rejects.toThrow();
      const code = await new Promise<string>((resolve) => {
        const s = connect({ host: relay.host, port: relay.port });
        s.on('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(code).toBe('ECONNREFUSED');
      await relay.refuse(false);
      const again = new pg.Client({ host: relay.host, port: relay.port, user: 'postgres', database: 'app' });
      expect(await selectOne(again)).toBe(1);
    } finally {
      await client.end().catch(() => {});
      await relay.close();
    }
  });
});
