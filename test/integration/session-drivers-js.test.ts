// Issue 5 acceptance, JavaScript drivers and pgbench, through Meridian in transaction pooling on
// primary + 2 standbys and on the 3-node pglogical cluster: node-postgres (named queries),
// postgres.js (prepares by default) and `pgbench -M prepared`. Each workload checks its results
// and where each statement ran (reads on standbys and writes on the primary, on physical).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedCluster, TEST_USERS, uniqueName, waitFor, type Cluster, type PglogicalCluster, type PhysicalCluster } from '../support/cluster.js';
import { runPgbench } from '../support/proc.js';
import type { RunningMeridian } from '../helpers/meridian.js';
import { nodePgWorkload, postgresJsWorkload } from '../drivers/js-workloads.js';
import { checkObservations, createWorkloadTables, startSessionMeridian } from '../drivers/workload.js';

type Kind = 'physical' | 'pglogical';

/** meridian_routed_requests_total by "node/class". */
async function routedCounts(mer: RunningMeridian): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const v of (await mer.m.metrics.routedTotal.get()).values) m.set(`${v.labels.node}/${v.labels.class}`, v.value);
  return m;
}

describe.each<Kind>(['physical', 'pglogical'])('JavaScript drivers on %s', (kind) => {
  let cluster: Cluster;
  let mer: RunningMeridian;

  beforeAll(async () => {
    cluster = await sharedCluster(kind);
    mer = await startSessionMeridian(cluster, 'mode: transaction, size: 10, queue_timeout: 10s');
  });

  afterAll(async () => {
    await mer?.stop();
  });

  /** A loaded host can leave both standbys past max_read_lag for a while: start once one may serve reads. */
  async function standbyReadable(): Promise<void> {
    if (kind !== 'physical') return;
    const maxLagMs = mer.m.config.routing.maxReadLagMs;
    await waitFor(() => mer.m.snapshot().nodes.some((n) => n.role === 'replica' && n.isUp && n.lagMs !== null && n.lagMs <= maxLagMs / 2), {
      timeoutMs: 60_000,
      what: 'a standby with its lag known and within max_read_lag',
    });
  }

  it('node-postgres: named prepared reads/writes, transactions, search_path, TimeZone, temp table, failed tx', async () => {
    const tables = await createWorkloadTables(cluster);
    await standbyReadable();
    const obs = await nodePgWorkload(mer.dsn(), tables);
    console.log(checkObservations(cluster, obs, `node-postgres on ${kind}`));
  }, 120_000);

  it('postgres.js: the same workload with its own prepared statements and pipelining', async () => {
    const tables = await createWorkloadTables(cluster);
    await standbyReadable();
    const obs = await postgresJsWorkload(mer.dsn('md5user'), tables);
    console.log(checkObservations(cluster, obs, `postgres.js on ${kind}`));
  }, 120_000);

  it('pgbench -M prepared: reads and read-write transactions with 0 failures, reads on replicas, writes on the master', async () => {
    const t = uniqueName('pb');
    await cluster.exec(`create table ${t}(id int primary key, balance int not null); grant all on ${t} to public`);
    if (kind === 'pglogical') await (cluster as PglogicalCluster).addToReplicationSet(t);
    await cluster.nodes[0]!.query(`insert into ${t} select g, 0 from generate_series(1, 1000) g`);
    if (kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
    else await (cluster as PglogicalCluster).waitReplicating(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'meridian-pgbench-'));
    try {
      const script = join(dir, 'rw.sql');
      writeFileSync(
        script,
        `\\set id random(1, 1000)
\\set delta random(-100, 100)
select balance from ${t} where id = :id;
select count(*) from ${t} where id between :id and :id + 10;
begin;
update ${t} set balance = balance + :delta where id = :id;
select balance from ${t} where id = :id;
end;
`,
      );
      const before = await routedCounts(mer);
      const r = await runPgbench(
        ['-h', '127.0.0.1', '-p', String(mer.port), '-U', 'app', '-n', '-M', 'prepared', '-c', '6', '-j', '2', '-T', '5', '-f', script, 'app'],
        { PGPASSWORD: TEST_USERS.app.password },
        { timeoutMs: 90_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0);
      expect(processed, r.stdout).toBeGreaterThan(50);
      expect(Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? -1), r.stdout).toBe(0);
      const after = await routedCounts(mer);
      const delta = (node: string, cls: string) => (after.get(`${node}/${cls}`) ?? 0) - (before.get(`${node}/${cls}`) ?? 0);
      const names = cluster.nodes.map((n) => n.name);
      const reads = Object.fromEntries(names.map((n) => [n, delta(n, 'read')]));
      const writes = Object.fromEntries(names.map((n) => [n, delta(n, 'write')]));
      console.log(`pgbench -M prepared on ${kind}: ${processed} transactions; routed reads ${JSON.stringify(reads)}, writes ${JSON.stringify(writes)}`);
      const totalReads = names.reduce((s, n) => s + reads[n]!, 0);
      const totalWrites = names.reduce((s, n) => s + writes[n]!, 0);
      // Two autocommit reads and one read-write transaction per pgbench transaction.
      expect(totalReads).toBeGreaterThanOrEqual(processed);
      expect(totalWrites).toBeGreaterThanOrEqual(processed);
      if (kind === 'physical') {
        const p = (cluster as PhysicalCluster).primary.name;
        expect(writes[p]).toBe(totalWrites);
        expect(reads[p]).toBe(0);
        expect(totalReads).toBeGreaterThan(0);
      }
      // The balances moved only where pgbench's committed updates moved them: sum of deltas is
      // unknown, but every row still exists exactly once on the master.
      const [row] = await cluster.nodes[0]!.query<{ n: number }>(`select count(*)::int as n from ${t}`);
      expect(row!.n).toBe(1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
