// Issue 18: self-test of the Patroni harness (test/support/patroni.ts, etcd.ts): a real etcd and three
// PostgreSQL nodes managed by Debian's Patroni on loopback ports. The cluster comes up with one leader and
// two streaming replicas, a write on the leader is read on the replicas, a switchover moves the leader,
// kill -9 of the leader's postmaster makes Patroni promote another member, a replica stopped and started
// rejoins, and stop() leaves no process. And etcd alone (startEtcd): its v3 API on a port of its own.
// Prints its figures (start, replication, switchover, failover, rejoin, stop times). Without patroni or
// etcd the file is skipped with the reason printed, except in CI (CI=true), where that is a failure.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE, TEST_USERS, uniqueName, waitFor } from '../support/cluster.js';
import { pidState } from '../support/pg-bin.js';
import { existsSync } from 'node:fs';
import { startEtcd } from '../support/etcd.js';
import { findPatroni, startPatroniCluster, type PatroniCluster } from '../support/patroni.js';

const found = findPatroni();
const missing = 'missing' in found ? found.missing : null;
const inCi = process.env.CI === 'true';
if (missing !== null && !inCi) console.warn(`[patroni-harness] SKIPPED: ${missing}`);

/** Patroni's promotion after a crashed primary, with ttl 10 / loop_wait 1 / primary_start_timeout 0. */
const FAILOVER_BOUND_MS = 30_000;

function log(msg: string): void {
  console.log(`[patroni-harness] ${msg}`);
}

describe.skipIf(missing !== null && !inCi)('Patroni harness: etcd + 3 Patroni-managed PostgreSQL nodes', () => {
  let cluster: PatroniCluster | undefined;
  const c = (): PatroniCluster => {
    if (!cluster) throw new Error('the Patroni cluster did not start');
    return cluster;
  };

  beforeAll(async () => {
    if (missing !== null) throw new Error(`CI=true and Patroni's prerequisites are missing: ${missing}`);
    const t0 = performance.now();
    cluster = await startPatroniCluster({ nodes: 3 });
    log(`etcd + 3 members up, 2 replicas streaming in ${Math.round(performance.now() - t0)} ms (scope ${cluster.scope})`);
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it('comes up with one leader (n1, the bootstrapping member) and two replicas streaming', async () => {
    const members = await c().members();
    expect(members.map((m) => m.name)).toEqual(['n1', 'n2', 'n3']);
    expect(members.filter((m) => m.role === 'leader').map((m) => m.name)).toEqual(['n1']);
    expect(members.filter((m) => m.role === 'replica')).toHaveLength(2);
    expect(members.every((m) => m.state === 'running')).toBe(true);
    const leader = c().node('n1');
    const streams = await leader.query<{ name: string }>("SELECT application_name AS name FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1");
    expect(streams.map((s) => s.name)).toEqual(['n2', 'n3']);
    for (const name of ['n2', 'n3']) {
      const [s] = await c().node(name).query<{ inRecovery: boolean }>('SELECT pg_is_in_recovery() AS "inRecovery"');
      expect(s?.inRecovery, `${name} is a standby`).toBe(true);
    }
    for (const n of c().nodes) expect(n.pid, `${n.name}: patroni pid`).toBeGreaterThan(0);
    log(
      `members: ${members.map((m) => `${m.name}=${m.role}/${m.state} :${m.port}`).join(', ')}; api ports ${c()
        .nodes.map((n) => n.restApiPort)
        .join(', ')}`,
    );
  });

  it('has the test users with their passwords and auth methods on every member', async () => {
    for (const node of c().nodes) {
      for (const user of [TEST_USERS.app, TEST_USERS.md5user, TEST_USERS.plainuser]) {
        const client = new pg.Client({ host: node.host, port: node.port, user: user.name, password: user.password, database: TEST_DATABASE });
        await client.connect();
        try {
          const { rows } = await client.query<{ u: string }>('SELECT current_user AS u');
          expect(rows[0]?.u).toBe(user.name);
        } finally {
          await client.end();
        }
      }
    }
  });

  it('a write on the leader is read on both replicas', async () => {
    const table = uniqueName('patroni');
    const leader = await c().waitForLeader();
    await leader.query(`CREATE TABLE ${table}(id int PRIMARY KEY, v text)`);
    const t0 = performance.now();
    await leader.query(`INSERT INTO ${table} VALUES (1, 'written on ${leader.name}')`);
    for (const replica of c().nodes.filter((n) => n.name !== leader.name)) {
      const rows = await waitFor(
        async () => {
          const found = await replica.query<{ v: string }>(`SELECT v FROM ${table} WHERE id = 1`);
          return found.length > 0 ? found : false;
        },
        { timeoutMs: 30_000, what: `row 1 of ${table} on ${replica.name}` },
      );
      expect(rows[0]?.v).toBe(`written on ${leader.name}`);
    }
    log(`a leader write was readable on both replicas after ${Math.round(performance.now() - t0)} ms`);
  });

  it('switchover moves the leader to the named replica; the old leader streams from it', async () => {
    const before = await c().leader();
    const to = c().nodes.find((n) => n.name !== before)!.name;
    const res = await c().switchover(to);
    expect(res).toMatchObject({ from: before, to });
    expect(await c().leader()).toBe(to);
    log(`switchover ${res.from} -> ${res.to}: new leader took writes after ${res.ms} ms`);
    const t0 = performance.now();
    const leader = await c().waitStreaming({ timeoutMs: 90_000 });
    expect(leader.name).toBe(to);
    log(`after the switchover both replicas stream from ${to} again in ${Math.round(performance.now() - t0)} ms`);
  }, 180_000);

  it("kill -9 of the leader's postmaster: Patroni promotes another member, and the old one rejoins", async () => {
    const failoverTable = uniqueName('failover');
    await c().exec(`CREATE TABLE ${failoverTable}(id int PRIMARY KEY)`);
    await c().exec(`INSERT INTO ${failoverTable} VALUES (1)`);
    await c().waitStreaming({ timeoutMs: 60_000 });
    const { name, pid, killedAt } = await c().killPrimary();
    const leader = await c().waitForLeader({ not: name, timeoutMs: FAILOVER_BOUND_MS + 30_000 });
    const promotedMs = Math.round(performance.now() - killedAt);
    log(`kill -9 of ${name}'s postmaster (pid ${pid}): ${leader.name} took writes after ${promotedMs} ms`);
    expect(promotedMs).toBeLessThan(FAILOVER_BOUND_MS);
    await leader.query(`INSERT INTO ${failoverTable} VALUES (2)`);
    const rows = await leader.query<{ id: number }>(`SELECT id FROM ${failoverTable} ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([1, 2]);
    const t0 = performance.now();
    await c().waitStreaming({ timeoutMs: 120_000 });
    log(`${name} streams again from ${leader.name} ${Math.round(performance.now() - t0)} ms after the promotion`);
  }, 240_000);

  it('a replica stopped (Patroni and its PostgreSQL) and started again rejoins and streams', async () => {
    const leader = await c().waitForLeader();
    const replica = c().nodes.find((n) => n.name !== leader.name)!;
    let t0 = performance.now();
    await replica.stop('fast');
    expect(replica.isRunning()).toBe(false);
    expect(replica.postmasterPid()).toBeNull();
    log(`${replica.name} (Patroni + PostgreSQL) stopped in ${Math.round(performance.now() - t0)} ms`);
    t0 = performance.now();
    await replica.start();
    await c().waitStreaming({ timeoutMs: 90_000 });
    const [r] = await replica.query<{ inRecovery: boolean }>('SELECT pg_is_in_recovery() AS "inRecovery"');
    expect(r?.inRecovery).toBe(true);
    log(`${replica.name} started again and streams from ${leader.name} after ${Math.round(performance.now() - t0)} ms`);
  }, 180_000);

  it('stop() ends every Patroni, postmaster and etcd process it started', async () => {
    const cl = c();
    const pids = [cl.etcd.pid, ...cl.nodes.flatMap((n) => [n.pid, n.postmasterPid()])].filter((p): p is number => p !== null);
    expect(pids.length).toBe(1 + 2 * cl.nodes.length);
    const t0 = performance.now();
    await cl.stop();
    log(`stop: ${Math.round(performance.now() - t0)} ms`);
    expect(pids.filter((p) => pidState(p) === 'alive')).toEqual([]);
  }, 120_000);
});

describe.skipIf(missing !== null && !inCi)('etcd harness: one etcd on its own', () => {
  it('serves the v3 API on a loopback port of its own, and stop() ends it and removes its dir', async () => {
    if (missing !== null) throw new Error(`CI=true and Patroni's prerequisites are missing: ${missing}`);
    const t0 = performance.now();
    const etcd = await startEtcd();
    const startedMs = Math.round(performance.now() - t0);
    try {
      expect([2379, 2380]).not.toContain(etcd.clientPort);
      const b64 = (t: string): string => Buffer.from(t).toString('base64');
      const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
        const res = await fetch(`${etcd.clientUrl}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
        expect(res.status).toBe(200);
        return (await res.json()) as Record<string, unknown>;
      };
      await post('/v3/kv/put', { key: b64('meridian/test'), value: b64('hello') });
      const got = (await post('/v3/kv/range', { key: b64('meridian/test') })) as { kvs?: Array<{ value: string }> };
      expect(Buffer.from(got.kvs?.[0]?.value ?? '', 'base64').toString()).toBe('hello');
    } finally {
      const t1 = performance.now();
      await etcd.stop();
      log(`etcd alone: healthy after ${startedMs} ms on :${etcd.clientPort} (peer :${etcd.peerPort}), stopped in ${Math.round(performance.now() - t1)} ms`);
    }
    expect(pidState(etcd.pid)).not.toBe('alive');
    expect(existsSync(etcd.dataDir)).toBe(false);
  });
});
