// Issue 16, bug 1: a backend lost while Meridian's own state-sync query runs, after the request
// already used its one retry, left the request collected but unanswered: the client hung with no
// error and no ReadyForQuery. It must get 08006, and the session must go on.
//
// Deterministic: the session's SQL-level prepared statement names a table another connection
// holds an ACCESS EXCLUSIVE lock on, so the PREPARE that Meridian runs on each new backend (the
// state sync) blocks; the test terminates that backend, twice.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sharedCluster, uniqueName, waitFor, type SingleCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: SingleCluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridian(cluster, { pool: 'mode: transaction, size: 1, queue_timeout: 5s' });
});

afterAll(async () => {
  await mer?.stop();
});

/** Terminates the backend whose sync query is blocked on `table`'s lock (not `notPid`); returns its pid. */
async function terminateBlockedSync(table: string, notPid: number): Promise<number> {
  const node = cluster.nodes[0]!;
  let pid = 0;
  await waitFor(
    async () => {
      const rows = await node.query<{ pid: number }>(
        `select pid from pg_stat_activity where wait_event_type = 'Lock' and query ilike $1 and pid <> $2 and pid <> pg_backend_pid()`,
        [`%PREPARE%${table}%`, notPid],
      );
      pid = rows[0]?.pid ?? 0;
      return pid !== 0;
    },
    { timeoutMs: 10_000, intervalMs: 25, what: () => `a state-sync PREPARE blocked on ${table}` },
  );
  await node.query('select pg_terminate_backend($1)', [pid]);
  return pid;
}

describe('a backend lost during the state sync', () => {
  it("after the request's retry: the client gets 08006 and the session goes on", async () => {
    const table = uniqueName('synclock');
    await cluster.exec(`create table ${table} (id int)`);
    const c = new pg.Client({ connectionString: mer.dsn() });
    c.on('error', () => {});
    await c.connect();
    const locker = new pg.Client({ connectionString: cluster.nodes[0]!.connectionString() });
    await locker.connect();
    try {
      await c.query(`prepare p as select count(*)::int as n from ${table}`);
      // The pool's only backend has the statement: it goes away, so the next backend needs the state sync.
      const [{ pid }] = (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows as [{ pid: number }];
      await cluster.nodes[0]!.query('select pg_terminate_backend($1)', [pid]);
      await new Promise((r) => setTimeout(r, 200));
      await locker.query(`begin; lock table ${table} in access exclusive mode`);

      const t0 = Date.now();
      const pending = c.query('execute p').then(
        () => null,
        (e: { code?: string }) => e,
      );
      const first = await terminateBlockedSync(table, 0); // lost during the sync: retried on another backend
      await terminateBlockedSync(table, first); // lost again: the retry is used
      const timeout = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8000));
      const outcome = await Promise.race([pending, timeout]);
      console.log(`sync lost twice: client answered in ${Date.now() - t0} ms with ${outcome === 'hung' ? 'nothing (hung)' : outcome?.code}`);
      expect(outcome).not.toBe('hung');
      expect((outcome as { code?: string } | null)?.code).toBe('08006');

      await locker.query('rollback');
      expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
      expect((await c.query('execute p')).rows[0].n).toBe(0); // its prepared statement still works
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end().catch(() => {});
      await c.end().catch(() => {});
      await cluster.exec(`drop table if exists ${table}`).catch(() => {});
    }
  }, 60_000);
});
