// Transaction replay (issue 18, item 3; routing.transaction_replay): a transaction whose backend
// is lost before COMMIT was sent is run again on a new backend, every result compared, and goes on
// as if nothing happened when they are the same; a result that differs gets 08006 and the
// transaction is rolled back; replay off, or a transaction past transaction_replay_max_bytes,
// fails as before. The backend is ended by the server (pg_terminate_backend: a FATAL, as a
// shutdown or a switchover's demotion ends it) or cut without a word (SIGKILL). One node of its
// own: the replay goes to a new backend on the same node once it is readmitted.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startSingleNode, waitFor, type Cluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { activePid } from '../support/activity.js';

let cluster: Cluster;
let mer: RunningMeridian;
let small: RunningMeridian;
let off: RunningMeridian;

const POOL = 'mode: transaction, size: 5, queue_timeout: 5s';
const HEALTH = 'interval: 200ms, timeout: 1s, rise: 1, fall: 2, fast_interval: 50ms';

beforeAll(async () => {
  cluster = await startSingleNode();
  await cluster.exec(`
    create table replay_t(id int primary key, v int, note text);
    create table replay_log(id serial primary key, tx text, at int);
    create function replay_slow_commit() returns trigger language plpgsql as $$ begin perform pg_sleep(1); return null; end $$;
    create constraint trigger replay_slow_commit_t after insert on replay_log deferrable initially deferred
      for each row when (new.tx = 'slow') execute function replay_slow_commit();
    grant all on replay_t, replay_log to public;
    grant usage on sequence replay_log_id_seq to public;`);
  const routing = (more = '') => `routing: { transaction_replay: true, write_wait: 5s${more} }`;
  [mer, small, off] = await Promise.all([
    startMeridian(cluster, { pool: POOL, health: HEALTH, extraYaml: routing() }),
    startMeridian(cluster, { pool: POOL, health: HEALTH, extraYaml: routing(', transaction_replay_max_bytes: 1kB') }),
    startMeridian(cluster, { pool: POOL, health: HEALTH, extraYaml: 'routing: { write_wait: 5s }' }),
  ]);
});

afterAll(async () => {
  await Promise.all([mer?.stop(), small?.stop(), off?.stop()]);
  await cluster?.stop();
});

beforeEach(async () => {
  // After a SIGKILL the node restarts its processes: wait until it takes statements again.
  await waitFor(
    () =>
      cluster.exec(`truncate replay_t; truncate replay_log; insert into replay_t select g, g * 10, 'row ' || g from generate_series(1, 20) g;`).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 30_000, what: 'the node taking statements' },
  );
});

async function client(m: RunningMeridian): Promise<pg.Client> {
  const c = new pg.Client(m.dsn());
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** The server backend idle in the transaction that ran `marker` (a comment in its last statement). */
async function backendOf(marker: string): Promise<number> {
  let pid = 0;
  await waitFor(
    async () => {
      const rows = await cluster.nodes[0]!.query<{ pid: number }>(
        "select pid from pg_stat_activity where state = 'idle in transaction' and query like $1 and pid <> pg_backend_pid()",
        [`%${marker}%`],
      );
      pid = rows[0]?.pid ?? 0;
      return pid !== 0;
    },
    { timeoutMs: 10_000, what: `the backend of ${marker}` },
  );
  return pid;
}

async function terminate(pid: number): Promise<void> {
  await cluster.nodes[0]!.query('select pg_terminate_backend($1)', [pid]);
}

async function replays(m: RunningMeridian, result: string): Promise<number> {
  const v = await m.m.metrics.registry.getSingleMetric('meridian_transaction_replays_total')?.get();
  return v?.values.find((x) => x.labels.result === result)?.value ?? 0;
}

async function logged(tx: string): Promise<number> {
  const rows = await cluster.nodes[0]!.query<{ n: string }>('select count(*) n from replay_log where tx = $1', [tx]);
  return Number(rows[0]!.n);
}

describe('transaction replay', () => {
  it('a transaction whose backend the server ended goes on, each statement applied once (simple protocol, deferred BEGIN)', async () => {
    const c = await client(mer);
    const started = await replays(mer, 'started');
    const ok = await replays(mer, 'succeeded');
    try {
      await c.query('begin');
      await c.query("insert into replay_log(tx, at) values ('a', 1)");
      const r1 = await c.query('update replay_t set v = v + 1 where id <= 5 returning id, v /* tx-a */');
      expect(r1.rowCount).toBe(5);
      const t0 = performance.now();
      await terminate(await backendOf('tx-a'));
      const r2 = await c.query('select sum(v)::int s from replay_t');
      const r3 = await c.query("insert into replay_log(tx, at) values ('a', 2)");
      await c.query('commit');
      const ms = performance.now() - t0;
      console.log(`[replay] terminated backend: transaction replayed and committed ${ms.toFixed(0)} ms after the termination`);
      expect(r2.rows[0].s).toBe(2105); // 10+…+200 = 2100, plus 5
      expect(r3.rowCount).toBe(1);
    } finally {
      await c.end().catch(() => {});
    }
    expect(await logged('a')).toBe(2); // the first insert once, not twice
    const v = await cluster.nodes[0]!.query<{ s: number }>('select sum(v)::int s from replay_t');
    expect(v[0]!.s).toBe(2105);
    expect(await replays(mer, 'started')).toBe(started + 1);
    expect(await replays(mer, 'succeeded')).toBe(ok + 1);
  });

  it('the extended protocol with named prepared statements, and a backend cut without a word (SIGKILL)', async () => {
    const c = await client(mer);
    try {
      await c.query('begin');
      await c.query({ name: 'ins', text: 'insert into replay_log(tx, at) values ($1, $2)', values: ['b', 1] });
      const r = await c.query({ name: 'get', text: 'select v from replay_t where id = $1 /* tx-b */', values: [3] });
      expect(r.rows[0].v).toBe(30);
      const pid = await backendOf('tx-b');
      process.kill(pid, 'SIGKILL'); // the postmaster restarts every backend: the node is out a moment
      await c.query({ name: 'ins', text: 'insert into replay_log(tx, at) values ($1, $2)', values: ['b', 2] });
      const r2 = await c.query({ name: 'get', text: 'select v from replay_t where id = $1 /* tx-b */', values: [4] });
      expect(r2.rows[0].v).toBe(40);
      await c.query('commit');
    } finally {
      await c.end().catch(() => {});
    }
    expect(await logged('b')).toBe(2);
  });

  it('a COMMIT the server ended with FATAL 57P01 before answering had not run: replayed with the transaction, committed once', async () => {
    const c = await client(mer);
    try {
      await c.query('begin');
      await c.query("insert into replay_log(tx, at) values ('slow', 1)");
      const commit = c.query('commit'); // its deferred trigger sleeps 1 s
      await terminate(await activePid(cluster.nodes[0]!, 'commit%', 'the COMMIT running'));
      await commit;
    } finally {
      await c.end().catch(() => {});
    }
    expect(await logged('slow')).toBe(1);
  });

  it('a result that differs on replay: 08006, the transaction rolled back, nothing of it committed', async () => {
    const c = await client(mer);
    const mismatched = await replays(mer, 'mismatched');
    let err: { code?: string; message: string } | null = null;
    try {
      await c.query('begin');
      await c.query("insert into replay_log(tx, at) values ('c', 1)");
      const r = await c.query('select v from replay_t where id = 7 /* tx-c */');
      expect(r.rows[0].v).toBe(70);
      const pid = await backendOf('tx-c');
      // Another session changes what the transaction read, then its backend is ended.
      await cluster.nodes[0]!.query('update replay_t set v = 71 where id = 7');
      await terminate(pid);
      await c.query("insert into replay_log(tx, at) values ('c', 2)");
      await c.query('commit');
    } catch (e) {
      err = e as { code?: string; message: string };
    } finally {
      await c.end().catch(() => {});
    }
    console.log(`[replay] different result on replay: ${err?.code} ${err?.message}`);
    expect(err?.code).toBe('08006');
    expect(err?.message).toMatch(/replaying it gave different results/);
    expect(await logged('c')).toBe(0);
    expect(await replays(mer, 'mismatched')).toBe(mismatched + 1);
  });

  it('pipelined requests, in flight when the backend is lost, get their answers from the replay', async () => {
    const c = await client(mer);
    try {
      await c.query('begin');
      await c.query("insert into replay_log(tx, at) values ('d', 1) /* tx-d */");
      const pid = await backendOf('tx-d');
      // pg_sleep keeps the next statement running while the backend is ended: it was sent, and
      // lost with its backend before answering.
      const slow = c.query('select pg_sleep(0.5), count(*)::int n from replay_log');
      const after = c.query("insert into replay_log(tx, at) values ('d', 2) returning at");
      await new Promise((r) => setTimeout(r, 150));
      await terminate(pid);
      expect((await slow).rows[0].n).toBe(1);
      expect((await after).rows[0].at).toBe(2);
      await c.query('commit');
    } finally {
      await c.end().catch(() => {});
    }
    expect(await logged('d')).toBe(2);
  });

  it('a transaction past transaction_replay_max_bytes is not replayed: the client sees the server end it', async () => {
    const c = await client(small);
    const refused = await replays(small, 'refused');
    let err: { code?: string; message: string } | null = null;
    try {
      await c.query('begin');
      await c.query(`insert into replay_log(tx, at) values ('e', 1) /* tx-e ${'x'.repeat(2000)} */`);
      await terminate(await backendOf('tx-e'));
      await c.query("insert into replay_log(tx, at) values ('e', 2)");
    } catch (e) {
      err = e as { code?: string; message: string };
    } finally {
      await c.end().catch(() => {});
    }
    expect(err?.code).toBe('57P01');
    expect(await logged('e')).toBe(0);
    expect(await replays(small, 'refused')).toBe(refused + 1);
  });

  it('replay off (the default): the client sees the server end its transaction, as before', async () => {
    const c = await client(off);
    let err: { code?: string; message: string } | null = null;
    try {
      await c.query('begin');
      await c.query("insert into replay_log(tx, at) values ('f', 1) /* tx-f */");
      await terminate(await backendOf('tx-f'));
      await c.query("insert into replay_log(tx, at) values ('f', 2)");
    } catch (e) {
      err = e as { code?: string; message: string };
    } finally {
      await c.end().catch(() => {});
    }
    expect(err?.code).toBe('57P01');
    expect(await logged('f')).toBe(0);
    expect(await replays(off, 'started')).toBe(0);
  });

  it('autocommit traffic and sessions through the replaying Meridian are unaffected (results relayed whole)', async () => {
    const c = await client(mer);
    try {
      const big = await c.query('select g, repeat(md5(g::text), 10) t from generate_series(1, 5000) g');
      expect(big.rowCount).toBe(5000);
      await c.query('begin');
      const r = await c.query('select count(*)::int n from replay_t');
      await c.query('commit');
      expect(r.rows[0].n).toBe(20);
    } finally {
      await c.end();
    }
  });
});
