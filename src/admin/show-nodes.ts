// SHOW NODES (console) and GET /nodes (HTTP): one row per configured node from the topology
// snapshot, the pools and the routed-requests counter, plus drain progress while a drain runs,
// and where each node's lag comes from with the misconfiguration that keeps it unknown (problem),
// what Patroni says of it (cluster.patroni) and why new writes are held (a switchover under way).
// Reads only; never changes state.

import type { Drains } from './drain.js';
import { bool, float, int, roundMs, text, type AdminTable } from './table.js';
import type { AdminHost } from './types.js';

/** Routed requests per node and class, read from the counter (survives session churn). */
export async function routedByNode(m: Pick<AdminHost, 'metrics'>): Promise<Map<string, { reads: number; writes: number }>> {
  const out = new Map<string, { reads: number; writes: number }>();
  const metric = await m.metrics.routedTotal.get();
  for (const v of metric.values) {
    const node = String(v.labels.node ?? '');
    let e = out.get(node);
    if (e === undefined) out.set(node, (e = { reads: 0, writes: 0 }));
    if (v.labels.class === 'write') e.writes += v.value;
    else e.reads += v.value;
  }
  return out;
}

/** Backends of a node by state, summed over its pools. */
function nodeBackends(m: Pick<AdminHost, 'pools'>, node: string): { active: number; idle: number; connecting: number; waiting: number } {
  let active = 0;
  let idle = 0;
  let connecting = 0;
  let waiting = 0;
  for (const p of m.pools.poolsOfNode(node)) {
    active += p.activeCount;
    idle += p.idleCount;
    connecting += p.connecting;
    waiting += p.waitingCount;
  }
  return { active, idle, connecting, waiting };
}

export async function showNodes(m: AdminHost, drains: Drains): Promise<AdminTable> {
  const snap = m.topology.snapshot;
  const routed = await routedByNode(m);
  const rows = snap.nodes.map((n) => {
    const b = nodeBackends(m, n.name);
    const r = routed.get(n.name) ?? { reads: 0, writes: 0 };
    const lag = m.lagStatusOf(n.name);
    return [
      n.name,
      n.region,
      n.role,
      n.state,
      n.isUp,
      roundMs(n.rttMs),
      roundMs(n.lagMs),
      n.lagBytes,
      b.active,
      b.idle,
      r.reads,
      r.writes,
      drains.progress(n.name),
      n.lastError,
      lag?.source ?? null,
      lag?.problem ?? null,
      n.patroni ?? null,
      snap.writesHeld,
    ];
  });
  return {
    columns: [
      text('name'),
      text('region'),
      text('role'),
      text('state'),
      bool('up'),
      float('rtt_ms'),
      float('lag_ms'),
      int('lag_bytes'),
      int('active_backends'),
      int('idle_backends'),
      int('routed_reads'),
      int('routed_writes'),
      text('drain'),
      text('last_error'),
      text('lag_source'),
      text('problem'),
      text('patroni'),
      text('writes_held'),
    ],
    rows,
  };
}
