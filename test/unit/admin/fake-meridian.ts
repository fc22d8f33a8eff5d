// A stand-in for the admin host with just what admin/drain.ts reads (DrainHost): a real
// TopologyStore, pools with counters, sessions with an attached backend, a config; and the Drains
// built over it. No sockets, no PostgreSQL.
import { Drains, type DrainHost } from '../../../src/admin/drain.js';
import type { MeridianConfig } from '../../../src/config/types.js';
import { TopologyStore } from '../../../src/topology/topology-store.js';

export interface FakeSession {
  id: number;
  isAdmin: boolean;
  attached: { node: string; ops: { isEmpty: boolean }; txStatus: number } | null;
  sessionBackends: Map<string, unknown> | null;
  cancelled: number;
  closedWith: string | null;
  cancelCurrent(): void;
  close(reason: string): void;
}

export interface FakePool {
  node: string;
  total: number;
  idleCount: number;
  isDraining: boolean;
}

export function fakeSession(id: number, node: string | null, isBusy = true): FakeSession {
  const s: FakeSession = {
    id,
    isAdmin: false,
    attached: node === null ? null : { node, ops: { isEmpty: !isBusy }, txStatus: 0x54 },
    sessionBackends: null,
    cancelled: 0,
    closedWith: null,
    cancelCurrent() {
      s.cancelled++;
    },
    close(reason: string) {
      s.closedWith = reason;
      s.attached = null;
    },
  };
  return s;
}

export function fakeMeridian(opts: {
  nodes: Array<{ name: string; region: string; role?: 'master' | 'replica'; lagMs?: number | null; isUp?: boolean }>;
  residency?: Array<{ name: string; regions: string[] }>;
  drainTimeoutMs?: number;
  onTimeout?: 'cancel' | 'leave';
}) {
  const store = new TopologyStore(
    opts.nodes.map((n) => ({ name: n.name, host: '127.0.0.1', port: 1, region: n.region, location: null, priority: 0 })),
    { kind: 'pglogical' },
  );
  store.applyProbes(
    opts.nodes.map((n) => ({ node: n.name, isUp: n.isUp ?? true, role: n.role ?? 'master', lagMs: n.lagMs === undefined ? 0 : n.lagMs, lastProbeAtMs: 1 })),
  );
  const pools = new Map<string, FakePool>(opts.nodes.map((n) => [n.name, { node: n.name, total: 0, idleCount: 0, isDraining: false }]));
  const sessions = new Map<number, FakeSession>();
  const config = {
    drain: { timeoutMs: opts.drainTimeoutMs ?? 30_000, onTimeout: opts.onTimeout ?? 'cancel' },
    residency: {
      requireMatch: false,
      bindTenants: false,
      rules: (opts.residency ?? []).map((r) => ({
        name: r.name,
        regions: r.regions,
        match: { user: null, database: null, applicationName: null, tenant: r.name, cidr: null },
      })),
    },
    routing: { readmitMaxLagMs: 1000 },
  } as unknown as MeridianConfig;
  const logger = { info() {}, warn() {}, error() {}, debug() {} };
  const m = {
    topology: store,
    config,
    logger,
    sessions,
    pools: {
      poolsOfNode: (node: string) => {
        const p = pools.get(node);
        return p === undefined ? [] : [p];
      },
      setNodeDraining: (node: string, on: boolean) => {
        const p = pools.get(node);
        if (p) {
          p.isDraining = on;
          if (on) {
            p.total -= p.idleCount;
            p.idleCount = 0;
          }
        }
      },
    },
  };
  const host = m as unknown as DrainHost;
  return { m: host, drains: new Drains(host), store, pools, sessions };
}
