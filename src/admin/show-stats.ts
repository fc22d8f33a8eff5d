// SHOW STATS: counters since start, one row per node (requests routed there, probe failures,
// evictions) and a `*` row for the whole proxy (requests, mean request time, errors, pool
// waits, residency refusals, failovers, reloads). Read from the Prometheus registry, so the
// console and /metrics never disagree. Reads only.

import type client from 'prom-client';
import { routedByNode } from './show-nodes.js';
import { float, int, text, type AdminTable } from './table.js';
import type { AdminHost } from './types.js';

type AnyMetric = client.Counter<string> | client.Histogram<string> | client.Gauge<string>;

async function byLabel(metric: AnyMetric, label: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await metric.get()).values) {
    const key = String(v.labels[label] ?? '');
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

async function total(metric: AnyMetric): Promise<number> {
  let n = 0;
  for (const v of (await metric.get()).values) n += v.value;
  return n;
}

/** [count, sum] of a histogram. */
async function histogram(h: client.Histogram<string>): Promise<[number, number]> {
  let count = 0;
  let sum = 0;
  for (const v of (await h.get()).values) {
    const name = (v as { metricName?: string }).metricName ?? '';
    if (name.endsWith('_count')) count += v.value;
    else if (name.endsWith('_sum')) sum += v.value;
  }
  return [count, sum];
}

function meanMs(count: number, sumSeconds: number): number | null {
  return count === 0 ? null : Math.round((sumSeconds / count) * 1e6) / 1e3;
}

export async function showStats(m: Pick<AdminHost, 'metrics' | 'topology'>): Promise<AdminTable> {
  const mt = m.metrics;
  const routed = await routedByNode(m);
  const probes = await byLabel(mt.probeFailures, 'node');
  const evictions = await byLabel(mt.evictions, 'node');
  const [requests, requestSum] = await histogram(mt.requestDuration);
  const [waits, waitSum] = await histogram(mt.poolWaitSeconds);
  const reloads = await byLabel(mt.reloads, 'result');
  const rows: Array<Array<string | number | null>> = m.topology.snapshot.nodes.map((n) => {
    const r = routed.get(n.name) ?? { reads: 0, writes: 0 };
    return [n.name, r.reads, r.writes, probes.get(n.name) ?? 0, evictions.get(n.name) ?? 0, null, null, null, null, null, null, null, null, null];
  });
  let reads = 0;
  let writes = 0;
  for (const r of routed.values()) {
    reads += r.reads;
    writes += r.writes;
  }
  rows.push([
    '*',
    reads,
    writes,
    await total(mt.probeFailures),
    await total(mt.evictions),
    requests,
    meanMs(requests, requestSum),
    await total(mt.errorsTotal),
    waits,
    meanMs(waits, waitSum),
    await total(mt.residencyRefusals),
    await total(mt.failovers),
    reloads.get('ok') ?? 0,
    reloads.get('failed') ?? 0,
  ]);
  return {
    columns: [
      text('node'),
      int('routed_reads'),
      int('routed_writes'),
      int('probe_failures'),
      int('evictions'),
      int('requests'),
      float('avg_request_ms'),
      int('errors'),
      int('pool_waits'),
      float('avg_pool_wait_ms'),
      int('residency_refusals'),
      int('failovers'),
      int('reloads_ok'),
      int('reloads_failed'),
    ],
    rows,
  };
}
