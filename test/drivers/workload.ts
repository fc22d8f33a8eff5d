// Shared pieces of the issue 5 driver workloads (session-drivers-*.test.ts): the tables a workload
// uses, what each workload reports (which server port served each step, and of what kind), and
// the check of those observations against the cluster's roles. The workloads themselves live
// next to this file, one per driver (TypeScript, Python, Java); each checks its own results and
// reports observations, so the node assertions are written once, here.

import type { Cluster, PglogicalCluster, PhysicalCluster } from '../support/cluster.js';
import { uniqueName } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

/**
 * Meridian for the session tests: `pool` as given; pglogical gets its heartbeat table from
 * init-heartbeat, as an operator would (reads need a known lag). Probes are lenient (5 s timeout,
 * fall 5): these tests are about sessions, and a loaded 2-core host must not evict a node.
 */
export function startSessionMeridian(cluster: Cluster, pool: string): Promise<RunningMeridian> {
  return startMeridian(cluster, {
    pool,
    initHeartbeat: cluster.kind === 'pglogical',
    health: 'interval: 300ms, timeout: 5s, rise: 1, fall: 5',
  });
}

/** One statement's serving port, as reported by `inet_server_port()` in its result. */
export interface Observation {
  /** What the statement was, for messages. */
  step: string;
  /**
   * read: autocommit read (a replica on physical); write: ran on a master; any: either (a read
   * pipelined behind a write may share the write's master backend). Groups: see `group`.
   */
  kind: 'read' | 'write' | 'any';
  port: number;
  /** Steps of one transaction or one pin period: all must report the same port. */
  group?: string;
}

export interface WorkloadTables {
  /** Replicated table: id int primary key, v text, n int. */
  table: string;
  /** Schema holding `marker(v text)` with one row whose v is the schema's name (on every node). */
  schema: string;
}

/**
 * Creates the workload's tables. Physical: on the primary, waited for on the standbys. pglogical:
 * DDL on every node (not replicated), the table added to the replication set; the marker row is
 * inserted on each node locally (the marker table is not replicated).
 */
export async function createWorkloadTables(cluster: Cluster): Promise<WorkloadTables> {
  const table = uniqueName('sw');
  const schema = uniqueName('ss');
  await cluster.exec(`create table ${table}(id int primary key, v text, n int not null default 0);
    create schema ${schema}; create table ${schema}.marker(v text); insert into ${schema}.marker values ('${schema}');
    grant usage on schema ${schema} to public; grant select on ${schema}.marker to public;
    grant all on ${table} to public`);
  if (cluster.kind === 'pglogical') {
    await (cluster as PglogicalCluster).addToReplicationSet(table);
    await allowDropOnPglogical(cluster);
  }
  if (cluster.kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
  return { table, schema };
}

/**
 * pglogical's sql_drop event trigger reads its own schema, so a user without USAGE on schema
 * pglogical cannot DROP anything, not even a temp table ("permission denied for schema
 * pglogical"). The fixture does not grant it; the grant is idempotent and harmless to share.
 */
export async function allowDropOnPglogical(cluster: Cluster): Promise<void> {
  if (cluster.kind === 'pglogical') await cluster.exec('grant usage on schema pglogical to public');
}

export function nodeNameOfPort(cluster: Cluster, port: number): string {
  return cluster.nodes.find((n) => n.port === port)?.name ?? `unknown port ${port}`;
}

/**
 * Checks where each step ran. Physical: reads on standbys, writes on the primary, and both
 * observed. pglogical (every node a master): every port is a node of the cluster. Both: steps
 * of one group (a transaction, a pin period) ran on one node. Returns a readable summary.
 */
export function checkObservations(cluster: Cluster, obs: readonly Observation[], label: string): string {
  const problems: string[] = [];
  const ports = new Set(cluster.nodes.map((n) => n.port));
  const primaryPort = cluster.kind === 'physical' ? (cluster as PhysicalCluster).primary.port : null;
  const groups = new Map<string, number>();
  for (const o of obs) {
    const where = `${label}: step "${o.step}" ran on ${nodeNameOfPort(cluster, o.port)}`;
    if (!ports.has(o.port)) problems.push(`${where} (not a cluster node)`);
    if (primaryPort !== null) {
      // A read may fall back to the primary while both standbys lag past max_read_lag (a loaded
      // host); what must hold is that reads are seen on standbys at all (checked below).

      if (o.kind === 'write' && o.port !== primaryPort) problems.push(`${where}, expected the primary`);
    }
    if (o.group !== undefined) {
      const first = groups.get(o.group);
      if (first === undefined) groups.set(o.group, o.port);
      else if (first !== o.port) problems.push(`${where}, but group "${o.group}" started on ${nodeNameOfPort(cluster, first)}`);
    }
  }
  const reads = obs.filter((o) => o.kind === 'read');
  const writes = obs.filter((o) => o.kind === 'write');
  if (reads.length === 0) problems.push(`${label}: no read observed`);
  if (primaryPort !== null && reads.length > 0 && reads.every((o) => o.port === primaryPort)) {
    problems.push(`${label}: every read ran on the primary, none on a standby`);
  }
  if (writes.length === 0) problems.push(`${label}: no write observed`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const count = (list: readonly Observation[]) => {
    const by = new Map<string, number>();
    for (const o of list) by.set(nodeNameOfPort(cluster, o.port), (by.get(nodeNameOfPort(cluster, o.port)) ?? 0) + 1);
    return [...by].map(([n, c]) => `${n}×${c}`).join(' ');
  };
  return `${label}: reads ${count(reads)}; writes ${count(writes)}`;
}

/** Polls `check` (a read through Meridian that may hit a replica not yet caught up): null = not yet. */
export async function eventually<T>(what: string, check: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
