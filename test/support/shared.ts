// Test support: sharedCluster(kind) — one cluster of each kind for the whole test run, started lazily
// by the broker in vitest's main process the first time any test file asks, and reused by every
// later file in every worker. Workers get AttachedPgNodes (query only); destructive operations throw.
// Outside a vitest run with our global setup, the cluster is started in this process instead (once
// per process) and killed at exit.
import { describeCluster, BROKER_ENV } from './broker.js';
import { SingleClusterImpl } from './cluster-base.js';
import { PglogicalClusterImpl } from './cluster-pglogical.js';
import { PhysicalClusterImpl } from './cluster-physical.js';
import { AttachedPgNode } from './pg-node.js';
import type { Cluster, ClusterByKind, ClusterDescriptor, ClusterKind } from './types.js';

type Starter = (kind: ClusterKind) => Promise<Cluster>;

const attached = new Map<ClusterKind, Promise<Cluster>>();

async function brokerUrl(): Promise<string | undefined> {
  if (process.env[BROKER_ENV]) return process.env[BROKER_ENV];
  try {
    const vitest = (await import('vitest')) as { inject?: (key: string) => unknown };
    const url = vitest.inject?.('meridianClusterBroker');
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the worker-side view of a cluster someone else owns; stop() only closes our pools. */
export function attachCluster(d: ClusterDescriptor): Cluster {
  const nodes = d.nodes.map((n) => new AttachedPgNode(n));
  const release = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.endPool()));
  };
  switch (d.kind) {
    case 'single':
      return new SingleClusterImpl(nodes, true, release);
    case 'pglogical':
      return new PglogicalClusterImpl(nodes, true, release);
    case 'physical': {
      const [primary, ...standbys] = nodes;
      if (!primary) throw new Error('physical cluster without nodes');
      return new PhysicalClusterImpl(primary, standbys, true, release);
    }
  }
}

async function fromBroker(url: string, kind: ClusterKind): Promise<Cluster> {
  const res = await fetch(`${url}/clusters/${kind}`, { method: 'POST', signal: AbortSignal.timeout(600_000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`shared ${kind} cluster failed to start:\n${body}`);
  return attachCluster(JSON.parse(body) as ClusterDescriptor);
}

/**
 * The run's shared cluster of a kind. Share it freely, but: use your own table names (uniqueName) or
 * ids, don't change server settings, and don't stop, promote or pause anything — start your own
 * cluster for that. `cluster.stop()` is a no-op here (it releases this file's connections).
 */
export function sharedCluster<K extends ClusterKind>(kind: K, startLocal: Starter): Promise<ClusterByKind[K]> {
  let p = attached.get(kind);
  if (!p) {
    p = (async () => {
      const url = await brokerUrl();
      if (url) return fromBroker(url, kind);
      // No broker: start it here; attach to it so the same guards apply. Killed at process exit.
      return attachCluster(describeCluster(await startLocal(kind)));
    })();
    p.catch(() => attached.delete(kind));
    attached.set(kind, p);
  }
  return p as Promise<ClusterByKind[K]>;
}
