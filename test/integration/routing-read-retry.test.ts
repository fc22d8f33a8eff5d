// routing.retry_reads: an autocommit read whose backend dies before any answer is sent again,
// once, on another node. The retried bytes are a copy taken when the request was sent (the
// client's read buffer is reused by its next read, here a Flush sent once a node runs the
// request). A request pipelined behind the lost one is not silently dropped: then nothing is
// retried and the pending requests get the server's error (its FATAL 57P01 as an ERROR).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { sharedCluster, TEST_USERS, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { RawClient } from '../drivers/raw-client.js';

let cluster: PhysicalCluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await sharedCluster('physical');
  await cluster.exec('create table if not exists rr_lock(id int); grant select on rr_lock to public');
  // A read that sends a notice before any of its answer, as a backend in an immediate shutdown or
  // a crash restart warns its client just before it closes: IMMUTABLE with a constant argument, so
  // the planner runs it, before the RowDescription.
  await cluster.exec(
    "create or replace function rr_notice_wait(s float8) returns int language plpgsql immutable as $$ begin raise notice 'rr_notice_wait starts'; perform pg_sleep(s); return 1; end $$",
  );
  // min_idle: every node keeps idle backends, so a request never waits for one (a waiting request
  // is copied at the end of its read, which would hide a missing retry copy).
  mer = await startMeridian(cluster, {
    kind: 'physical',
    pool: 'mode: transaction, size: 5, min_idle: 2, queue_timeout: 5s',
    extraYaml: 'routing: { reads_on_masters: fallback, write_wait: 3s, read_functions: [rr_notice_wait] }',
  });
});

afterAll(async () => {
  await mer?.stop();
});

/** Terminates, on whichever node runs it, the backend executing a query containing `marker`. */
async function killRunning(marker: string): Promise<string> {
  let killed = '';
  await waitFor(
    async () => {
      for (const n of cluster.nodes) {
        const rows = await n.query<{ ok: boolean }>(
          `select pg_terminate_backend(pid) as ok from pg_stat_activity where state = 'active' and query like '%' || $1 || '%' and pid <> pg_backend_pid() and query not like '%pg_stat_activity%'`,
          [marker],
        );
        if (rows.some((r) => r.ok)) {
          killed = n.name;
          return true;
        }
      }
      return false;
    },
    { timeoutMs: 10_000, what: `a backend running ${marker}` },
  );
  return killed;
}

/** Until some node runs (waits in) a query containing `marker`. */
async function waitRunning(marker: string): Promise<void> {
  await waitFor(
    async () =>
      (
        await Promise.all(
          cluster.nodes.map((n) =>
            n.query(
              `select 1 from pg_stat_activity where state = 'active' and query like '%' || $1 || '%' and pid <> pg_backend_pid() and query not like '%pg_stat_activity%'`,
              [marker],
            ),
          ),
        )
      ).some((r) => r.length > 0),
    { timeoutMs: 10_000, what: `a node running ${marker}` },
  );
}

/**
 * Holds ACCESS EXCLUSIVE on rr_lock on the primary; standbys replay the lock, so a read of the
 * table waits for it before the server sends anything. Returns the release.
 */
async function lockTable(): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: cluster.node('primary').connectionString() });
  await c.connect();
  await c.query('begin');
  await c.query('lock table rr_lock in access exclusive mode');
  await c.query('select pg_switch_wal()'); // let the lock record reach the standbys now
  for (const name of ['s1', 's2']) {
    await waitFor(
      async () =>
        (
          await cluster
            .node(name)
            .query(
              "select 1 from pg_locks l join pg_class r on r.oid = l.relation where r.relname = 'rr_lock' and l.mode = 'AccessExclusiveLock' and l.granted",
            )
        ).length > 0,
      { timeoutMs: 10_000, what: `${name} replaying the lock` },
    );
  }
  return async () => {
    await c.query('commit');
    await c.end();
  };
}

function dataRows(msgs: { name: string }[]): string[] {
  return msgs.filter((m) => m.name === 'dataRow').map((m) => (m as unknown as { fields: string[] }).fields.join('|'));
}

describe('read retry', () => {
  it('a read whose backend dies before answering is retried with its own bytes, after the client sent more', async () => {
    const raw = await RawClient.connect(mer.port, 'plainuser', TEST_USERS.plainuser.password);
    // An idle backend already in step with this session on every node (a pool exists once used,
    // min_idle then adds fresh ones; the next use of each node takes the freshest, LIFO, and brings
    // it in step): the request goes out in the read that brought it, whichever node it goes to.
    const warm = async () => {
      for (const n of cluster.nodes) await raw.query(`/* meridian: node=${n.name} */ select count(*) from rr_lock`);
    };
    await warm();
    await waitFor(() => [...mer.m.pools.allPools()].every((p) => p.idleCount >= 2), { timeoutMs: 10_000, what: 'two idle backends in every pool' });
    await warm();
    const marker = `retry_${Date.now()}`;
    const release = await lockTable();
    raw.send(serialize.query(`select '${marker}' as m, count(*) as n from rr_lock`));
    // Once a node runs it, Meridian has read and sent it: the Flush comes in a read of its own,
    // into the same buffer, over the request's first bytes.
    await waitRunning(marker);
    raw.send(serialize.flush());
    await new Promise((r) => setTimeout(r, 100));
    const victim = await killRunning(marker);
    expect(victim).not.toBe('');
    // The retry waits for the lock on another node (eviction took the first one out).
    await new Promise((r) => setTimeout(r, 300));
    await release();
    const msgs = await raw.until('readyForQuery', { allowErrors: true });
    expect(msgs.filter((m) => m.name === 'error').map((m) => JSON.stringify(m))).toEqual([]);
    const [row] = dataRows(msgs);
    expect(row).toBe(`${marker}|0`);
    raw.socket.end();
  });

  it('regression: a read whose backend sent a notice and then died is still retried (an immediate shutdown warns every client before it closes)', async () => {
    const c = new pg.Client(mer.dsn());
    c.on('error', () => {});
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    await c.connect();
    try {
      const marker = `notice_${Date.now()}`;
      const q = c.query<{ v: number; port: number }>(`select rr_notice_wait(1.5) as v, inet_server_port() as port, '${marker}' as m`);
      await waitRunning(marker);
      await new Promise((r) => setTimeout(r, 200)); // the notice has reached Meridian
      const victim = await killRunning(marker);
      expect(victim).not.toBe('');
      // It used to get the server's 57P01 as an ERROR: the notice counted as the answer begun.
      const r = await q;
      expect(r.rows[0]!.v).toBe(1);
      expect(r.rows[0]!.port).not.toBe(cluster.node(victim).port);
      expect(notices.length).toBeGreaterThanOrEqual(1);
    } finally {
      await c.end().catch(() => {});
    }
  });

  it("a request pipelined behind the lost one: no retry, the pending requests get the server's 57P01 as an ERROR, the session goes on", async () => {
    const raw = await RawClient.connect(mer.port, 'plainuser', TEST_USERS.plainuser.password);
    const marker = `pipelined_${Date.now()}`;
    const release = await lockTable();
    raw.send(serialize.query(`select '${marker}' as m, count(*) from rr_lock`));
    await waitRunning(marker);
    raw.send(serialize.query(`select 'second' as m`));
    await new Promise((r) => setTimeout(r, 200));
    await killRunning(marker);
    await release();
    const first = await raw.until('readyForQuery', { allowErrors: true });
    const second = await raw.until('readyForQuery', { allowErrors: true });
    const codes = [...first, ...second].filter((m) => m.name === 'error').map((m) => (m as unknown as { code: string }).code);
    expect(dataRows(first)).toEqual([]);
    expect(codes.length).toBeGreaterThanOrEqual(1);
    for (const c of codes) expect(c).toBe('57P01'); // pg_terminate_backend's FATAL, as an ERROR: the session goes on
    const after = await raw.query('select 42');
    expect(dataRows(after)).toEqual(['42']);
    raw.socket.end();
  });
});
