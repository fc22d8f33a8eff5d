// Transaction replay under attack (issue 18, item 3): pgbench tpcb-like, 8 clients, through
// Meridian with routing.transaction_replay on, while every backend Meridian holds on the node is
// ended by the server (pg_terminate_backend) every 700 ms. pgbench stops a client at its first
// error, so every error counts. The only errors allowed: a COMMIT in flight when its backend was
// ended (08007: its outcome is unknown) and a replay whose results differed (08006, counted in
// meridian_transaction_replays_total{result="mismatched"}). The same storm with replay off shows
// the clients that would have failed. The node's own count of pgbench_history rows must equal
// what pgbench reports as done: nothing applied twice, nothing lost.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSingleNode, TEST_USERS, type Cluster } from '../support/cluster.js';
import { runPgbench } from '../support/proc.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { initLoadTables } from '../fault/helpers/fault-load.js';

let cluster: Cluster;

const POOL = 'mode: transaction, size: 10, queue_timeout: 5s';
const HEALTH = 'interval: 200ms, timeout: 1s, rise: 1, fall: 2, fast_interval: 50ms';

beforeAll(async () => {
  cluster = await startSingleNode();
  await initLoadTables(cluster.nodes[0]!);
});

afterAll(async () => {
  await cluster?.stop();
});

interface Storm {
  processed: number;
  abortedClients: number;
  errors: string[];
  terminated: number;
  replays: Record<string, number>;
  history: number;
  /** sum(delta) of pgbench_history and the sums of the three balances: equal when every transaction ran once, whole. */
  sums: number[];
}

async function storm(replay: boolean): Promise<Storm> {
  const node = cluster.nodes[0]!;
  await node.query('truncate pgbench_history');
  const mer: RunningMeridian = await startMeridian(cluster, {
    pool: POOL,
    health: HEALTH,
    extraYaml: `routing: { transaction_replay: ${replay}, write_wait: 5s }`,
  });
  let terminated = 0;
  let stop = false;
  try {
    const killer = (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      while (!stop) {
        const rows = await node
          .query<{ n: number }>(
            "select count(*) filter (where pg_terminate_backend(pid))::int n from pg_stat_activity where usename = 'app' and backend_type = 'client backend' and pid <> pg_backend_pid()",
          )
          .catch(() => [{ n: 0 }]);
        terminated += rows[0]?.n ?? 0;
        await new Promise((r) => setTimeout(r, 700));
      }
    })();
    const r = await runPgbench(
      ['-h', '127.0.0.1', '-p', String(mer.port), '-U', 'app', '-n', '-c', '8', '-j', '2', '-T', '6', '-b', 'tpcb-like', 'app'],
      { PGPASSWORD: TEST_USERS.app.password, PGCONNECT_TIMEOUT: '5' },
      { timeoutMs: 60_000 },
    );
    stop = true;
    await killer;
    const errors = r.stderr.split('\n').filter((l) => /error|abort|fatal/i.test(l));
    const metric = await mer.m.metrics.registry.getSingleMetric('meridian_transaction_replays_total')?.get();
    const replays: Record<string, number> = {};
    for (const v of metric?.values ?? []) replays[String(v.labels.result)] = v.value;
    const h = await node.query<{ n: number }>('select count(*)::int n from pgbench_history');
    const sums = await node.query<{ h: string; a: string; t: string; b: string }>(
      'select (select coalesce(sum(delta), 0) from pgbench_history) h, (select sum(abalance) from pgbench_accounts) a, (select sum(tbalance) from pgbench_tellers) t, (select sum(bbalance) from pgbench_branches) b',
    );
    return {
      processed: Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0),
      abortedClients: errors.filter((l) => /client \d+ .*aborted/.test(l)).length,
      errors,
      terminated,
      replays,
      history: h[0]!.n,
      sums: [Number(sums[0]!.h), Number(sums[0]!.a), Number(sums[0]!.t), Number(sums[0]!.b)],
    };
  } finally {
    stop = true;
    await mer.stop();
  }
}

describe('transaction replay under a storm of terminated backends', () => {
  it('pgbench tpcb-like sees only unknown COMMIT outcomes and counted mismatches; every transaction applied once', async () => {
    const on = await storm(true);
    console.log(
      `[replay-storm] replay on: ${on.processed} transactions, ${on.terminated} backends terminated, ${on.abortedClients} clients aborted, replays ${JSON.stringify(on.replays)}; history rows ${on.history}`,
    );
    for (const e of on.errors.slice(0, 5)) console.log(`[replay-storm]   ${e.slice(0, 200)}`);
    expect(on.terminated).toBeGreaterThan(8);
    expect(on.replays.started ?? 0).toBeGreaterThan(0);
    expect(on.replays.succeeded ?? 0).toBeGreaterThan(0);
    // Each aborted client was told 08007 (its COMMIT in flight) or a replay mismatch; nothing else.
    const unexplained = on.errors.filter((l) => /client \d+ .*aborted/.test(l) && !/may or may not have committed|replaying it gave different results/.test(l));
    expect(unexplained).toEqual([]);
    // The history rows are the committed transactions: pgbench's count, plus COMMITs whose outcome was unknown.
    expect(on.history).toBeGreaterThanOrEqual(on.processed);
    expect(on.history - on.processed).toBeLessThanOrEqual(on.abortedClients);
    // No statement ran twice (a replay lost again must not feed its frames through twice): the
    // balances each add up to the history's deltas.
    expect(on.sums).toEqual([on.sums[0], on.sums[0], on.sums[0], on.sums[0]]);

    const off = await storm(false);
    console.log(`[replay-storm] replay off: ${off.processed} transactions, ${off.terminated} backends terminated, ${off.abortedClients} clients aborted`);
    expect(off.abortedClients).toBeGreaterThan(0);
  }, 120_000);
});
