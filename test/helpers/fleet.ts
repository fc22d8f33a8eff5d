// Test helpers for the etcd fleet (several Meridian instances sharing drains in etcd): a 3-node
// pglogical cluster with pgbench tables on every node (as test/integration/drain-pgbench.test.ts
// sets it up), the `fleet:` YAML for an instance, pgbench through one instance, and a raw etcd
// client for writing hostile values.

import { Etcd3 } from 'etcd3';
import type { EtcdServer } from '../support/etcd.js';
import { startActiveActive, TEST_USERS, type PglogicalCluster } from '../support/cluster.js';
import { runPgbench, type RunResult } from '../support/proc.js';
import { adminRows, startMeridian, type RunningMeridian } from './meridian.js';
import { ensurePglogicalHeartbeat, initPgbench } from './pgbench-tables.js';

/** A pglogical cluster of the caller's own with the pgbench tables on every node, replicated. */
export async function startPgbenchCluster(): Promise<PglogicalCluster> {
  const cluster = await startActiveActive();
  await ensurePglogicalHeartbeat(cluster);
  await Promise.all(cluster.nodes.map(initPgbench));
  for (const t of ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']) await cluster.addToReplicationSet(t);
  return cluster;
}

/** Starts instance `name` of the fleet under `prefix` (extra: more keys of the fleet section, e.g. "lease_ttl: 4s"). */
export function startInstance(cluster: PglogicalCluster, etcd: EtcdServer, prefix: string, name: string, extra = ''): Promise<RunningMeridian> {
  return startMeridian(cluster, {
    pool: 'mode: transaction, size: 12, queue_timeout: 10s',
    extraYaml: `drain: { timeout: 20s, on_timeout: cancel }
routing: { readmit_max_lag: 2s, write_wait: 5s }
fleet: { endpoints: ["${etcd.clientUrl}"], prefix: "${prefix}", instance: ${name}${extra === '' ? '' : `, ${extra}`} }`,
  });
}

/** pgbench tpcb-like through one instance for `seconds` (resolves when it ends). */
export function pgbenchThrough(mer: RunningMeridian, clients: number, seconds: number): Promise<RunResult> {
  return runPgbench(
    ['-h', '127.0.0.1', '-p', String(mer.port), '-U', 'app', '-n', '-c', String(clients), '-j', '1', '-T', String(seconds), 'app'],
    { PGPASSWORD: TEST_USERS.app.password },
    { timeoutMs: (seconds + 120) * 1000 },
  );
}

/** Transactions processed and failed, as pgbench printed them. */
export function pgbenchCounts(r: RunResult): { processed: number; failed: number; out: string } {
  const out = `${r.stdout}\n${r.stderr}`;
  return {
    processed: Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0),
    failed: Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0),
    out,
  };
}

/** Requests routed to `node` by one instance (both classes). */
export async function routedTo(mer: RunningMeridian, node: string): Promise<number> {
  const v = await mer.m.metrics.routedTotal.get();
  return v.values.filter((x) => x.labels.node === node).reduce((a, x) => a + x.value, 0);
}

/** SHOW FLEET on one instance. */
export function showFleet(mer: RunningMeridian): Promise<Array<Record<string, unknown>>> {
  return adminRows(mer.port, 'SHOW FLEET');
}

/** This instance's own SHOW FLEET status (ok, or stale since …). */
export async function ownStatus(mer: RunningMeridian): Promise<string> {
  const rows = await showFleet(mer);
  return String(rows.find((r) => r.self === true)?.status ?? '');
}

/** A plain etcd client for the test's own reads and writes (values Meridian must survive). */
export function etcdClient(etcd: EtcdServer): Etcd3 {
  return new Etcd3({ hosts: etcd.clientUrl });
}
