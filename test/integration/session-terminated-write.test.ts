// An autocommit write whose backend the server ends with FATAL 57P01 before it ran (a fast shutdown,
// a Patroni switchover's demotion, pg_terminate_backend) — found by the Patroni switchover test under
// load: with routing.transaction_replay on it is sent again on a new backend and the client sees its
// answer, the row changed once (the server rolled the terminated statement back: it acts on that
// signal only at interrupt checks, never between a commit and its CommandComplete); with replay off
// the client gets the server's 57P01 as before. The write waits on a row lock another connection
// holds, so it is surely running when its backend is ended.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSingleNode, waitFor, type Cluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: Cluster;
let on: RunningMeridian;
let off: RunningMeridian;

const POOL = 'mode: transaction, size: 5, queue_timeout: 5s';
const HEALTH = 'interval: 200ms, timeout: 1s, rise: 1, fall: 2, fast_interval: 50ms';

beforeAll(async () => {
  cluster = await startSingleNode();
  await cluster.exec('create table term_t(id int primary key, n int not null); insert into term_t values (1, 0); grant all on term_t to public;');
  [on, off] = await Promise.all([
    startMeridian(cluster, { pool: POOL, health: HEALTH, extraYaml: 'routing: { transaction_replay: true, write_wait: 5s }' }),
    startMeridian(cluster, { pool: POOL, health: HEALTH, extraYaml: 'routing: { write_wait: 5s }' }),
  ]);
});

afterAll(async () => {
  await Promise.all([on?.stop(), off?.stop()]);
  await cluster?.stop();
});

/** Runs the autocommit UPDATE through `mer` while a lock holds it, ends its backend, then lets go: what the client got. */
async function terminateWhileRunning(mer: RunningMeridian): Promise<{ result: string; n: number; terminated: number }> {
  const node = cluster.nodes[0]!;
  const [before] = await node.query<{ n: number }>('select n from term_t where id = 1');
  const holder = new pg.Client({ host: node.host, port: node.port, user: 'postgres', database: 'app' });
  await holder.connect();
  const c = new pg.Client(mer.dsn());
  c.on('error', () => {});
  await c.connect();
  try {
    await holder.query('begin');
    await holder.query('select * from term_t where id = 1 for update');
    const update = c.query('update term_t set n = n + 1 where id = 1').then(
      (r) => `ok (${r.rowCount} row)`,
      (e: { code?: string }) => `error ${e.code ?? '?'}`,
    );
    const pid = await waitFor(
      async () => {
        const rows = await node.query<{ pid: number }>("select pid from pg_stat_activity where wait_event_type = 'Lock' and query like 'update term_t%'");
        return rows[0]?.pid ?? false;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'the UPDATE waiting on the lock' },
    );
    const [t] = await node.query<{ ok: boolean }>('select pg_terminate_backend($1) as ok', [pid]);
    await new Promise((r) => setTimeout(r, 300));
    await holder.query('commit');
    const result = await update;
    const [after] = await node.query<{ n: number }>('select n from term_t where id = 1');
    return { result, n: after!.n - before!.n, terminated: t?.ok ? 1 : 0 };
  } finally {
    await c.end().catch(() => {});
    await holder.end().catch(() => {});
  }
}

describe('an autocommit write whose backend the server ended (57P01) before it ran', () => {
  it('with transaction_replay: sent again, the client gets its answer, the row changed once', async () => {
    const r = await terminateWhileRunning(on);
    console.log(`[terminated-write] replay on: ${r.result}, row changed ${r.n}×`);
    expect(r.terminated).toBe(1);
    expect(r.result).toBe('ok (1 row)');
    expect(r.n).toBe(1);
  });

  it("without: the client gets the server's 57P01 and the row is unchanged", async () => {
    const r = await terminateWhileRunning(off);
    console.log(`[terminated-write] replay off: ${r.result}, row changed ${r.n}×`);
    expect(r.result).toBe('error 57P01');
    expect(r.n).toBe(0);
  });
});
