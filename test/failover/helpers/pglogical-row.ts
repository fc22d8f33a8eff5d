// Failover matrix support: one row on a 3-node pglogical cluster of the test's own. Meridian runs
// in-process in front of it, the matrix load runs through it, and the row's fault hits the nearest
// master 3 s in: the node with the most busy backends then, where Meridian sends the writes. (Every
// node is on loopback, so which one is nearest is decided by probe round trips that differ by
// less than a millisecond: n1 is preferred on a tie, by priority, but a loaded host may move the
// writes to another.) Measured: what pgbench saw, the replays Meridian counted, the backends busy on
// the node at the fault, the first write a fresh client made after it, and pgbench_history before
// and after (settled on every node once the node is back). Restores the node (started again,
// replicating) before it returns, so the next row starts from a healthy cluster.
import { sleep, waitFor, type PglogicalCluster, type PgNode } from '../../support/cluster.js';
import { adminRows, startMeridian, type RunningMeridian } from '../../helpers/meridian.js';
import { settledHistory } from './bench-tables.js';
import { describeLoad, replayCounts, runMatrixLoad, sideWrites, type MatrixLoad, type SideWrites } from './matrix-load.js';

/** Health settings of every row: a hung node is evicted within fall × interval + timeout = 2 s. */
export const HEALTH = { intervalMs: 500, timeoutMs: 1000, fall: 2 };
export const WRITE_WAIT_MS = 3000;
/** The longest a request may wait for a failed node, by the acceptance rule. */
export const WAIT_BOUND_MS = HEALTH.fall * HEALTH.intervalMs + HEALTH.timeoutMs + WRITE_WAIT_MS;

export const LOAD_S = 10;
const FAULT_AFTER_MS = 3000;

export interface RowResult {
  load: MatrixLoad;
  replays: Record<string, number>;
  victim: string;
  busyAtFault: number;
  firstWriteMs: number | null;
  /** A fresh client writing every 100 ms from the fault to the end of the load. */
  side: SideWrites;
  /** pgbench_history rows added during the row. */
  historyAdded: number;
}

export interface RowSpec {
  replay: boolean;
  /** Applies the fault to the write node; resolves when it is over (the node may still be down). */
  fault: (victim: PgNode, mer: RunningMeridian) => Promise<void>;
  /** Extra routing settings (YAML flow body). */
  routing?: string;
}

export function startRowMeridian(cluster: PglogicalCluster, replay: boolean, routing = ''): Promise<RunningMeridian> {
  return startMeridian(cluster, {
    nodes: cluster.nodes.map((n, i) => ({ name: n.name, host: n.host, port: n.port, region: `r${i + 1}`, priority: cluster.nodes.length - i })),
    // connect_timeout above the wait bound: a request must not wait for a connect to a hung node to give up.
    pool: 'mode: transaction, size: 20, queue_timeout: 10s, connect_timeout: 10s',
    health: `interval: ${HEALTH.intervalMs}ms, timeout: ${HEALTH.timeoutMs}ms, rise: 2, fall: ${HEALTH.fall}`,
    extraYaml: `routing: { transaction_replay: ${replay}, write_wait: ${WRITE_WAIT_MS}ms, readmit_max_lag: 2s${routing} }\ndrain: { timeout: 20s }`,
  });
}

/** Every node up and active with a known lag: reads and writes route normally. */
export async function allNodesRouting(mer: RunningMeridian, timeoutMs = 30_000): Promise<void> {
  await waitFor(() => mer.m.snapshot().nodes.every((n) => n.isUp && n.lagMs !== null && n.state === 'active'), {
    timeoutMs,
    what: 'every node up, active, with a known lag',
  });
}

/** The node running Meridian's backends for the load: the one with the most busy backends now. */
export async function busiestNode(mer: RunningMeridian): Promise<{ name: string; busy: number }> {
  const rows = await adminRows(mer.port, 'SHOW NODES');
  const top = [...rows].sort((a, b) => Number(b.active_backends) - Number(a.active_backends))[0]!;
  return { name: String(top.name), busy: Number(top.active_backends) };
}

/** Starts a stopped node again and waits until the mesh replicates (bounded). */
export async function restoreNode(cluster: PglogicalCluster, node: PgNode): Promise<void> {
  if (!node.isRunning()) await node.start();
  await cluster.waitReplicating(40_000);
}

export async function runPglogicalRow(cluster: PglogicalCluster, spec: RowSpec, label: string): Promise<RowResult> {
  const mer = await startRowMeridian(cluster, spec.replay, spec.routing);
  let victim: PgNode | null = null;
  try {
    await allNodesRouting(mer);
    const before = await settledHistory(cluster);
    const loading = runMatrixLoad(mer.port, LOAD_S);
    await sleep(FAULT_AFTER_MS);
    const busy = await busiestNode(mer);
    victim = cluster.node(busy.name);
    const faultAt = Date.now();
    const side = sideWrites(mer.port, faultAt, LOAD_S * 1000 - FAULT_AFTER_MS, 2 * WAIT_BOUND_MS);
    await spec.fault(victim, mer);
    const [load, sw] = await Promise.all([loading, side]);
    const replays = await replayCounts(mer);
    await restoreNode(cluster, victim);
    const after = await settledHistory(cluster);
    const r: RowResult = {
      load,
      replays,
      victim: busy.name,
      busyAtFault: busy.busy,
      firstWriteMs: sw.firstWriteMs,
      side: sw,
      historyAdded: after - before,
    };
    console.log(
      `[failover] ${label}, replay ${spec.replay ? 'on' : 'off'}: ${describeLoad(load)}; replays ${JSON.stringify(replays)}; ` +
        `${r.busyAtFault} backends busy on ${r.victim} at the fault; a fresh client's first write after ${r.firstWriteMs ?? 'never'} ms (${sw.attempts} attempts, ${sw.errors} errors, ${sw.hangs} unanswered, longest ${sw.longestMs} ms); history +${r.historyAdded}`,
    );
    for (const e of [...load.tpcb.otherErrors, ...load.reads.otherErrors]) console.log(`[failover]   ${e}`);
    return r;
  } finally {
    await mer.stop();
    if (victim !== null) await restoreNode(cluster, victim).catch(() => {});
  }
}
