// Fault suite support: does Meridian's own account of its backends (SHOW POOLS on the admin
// console) agree with the servers' (pg_stat_activity on each node)? A backend a node still runs but
// Meridian has forgotten is leaked on the node; one Meridian still counts but the node no longer
// has is leaked in Meridian's books (a pool slot lost for good). Reads only.
import type { PgNode } from '../../support/cluster.js';
import type { MeridianProcess } from './meridian-process.js';

/** application_name of the tests' own direct connections as the app role (never Meridian's). */
export const DIRECT_APP_NAME = 'fault-direct';

/** SQL condition: a client backend of the app role that Meridian's pools opened (not its probes or catalog reader, not a test's direct connection). */
export const MERIDIAN_BACKEND = `usename = 'app' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND coalesce(application_name, '') NOT LIKE 'meridian-%' AND coalesce(application_name, '') <> '${DIRECT_APP_NAME}'`;

/** Meridian's pool backends on a node, as the server sees them. */
export async function serverBackends(node: PgNode): Promise<number> {
  const [r] = await node.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${MERIDIAN_BACKEND}`);
  return r?.n ?? 0;
}

export interface PoolView {
  total: Map<string, number>;
  waiting: number;
  /** Client sessions other than admin ones. */
  clientSessions: number;
}

export async function poolView(mer: MeridianProcess): Promise<PoolView> {
  const total = new Map<string, number>();
  let waiting = 0;
  for (const row of await mer.admin('SHOW POOLS')) {
    const node = String(row.node);
    total.set(node, (total.get(node) ?? 0) + Number(row.total));
    waiting += Number(row.waiting);
  }
  const sessions = await mer.admin('SHOW SESSIONS');
  return { total, waiting, clientSessions: sessions.filter((s) => s.state !== 'admin').length };
}

export interface LeakReport {
  /** |SHOW POOLS total − pg_stat_activity| per node, at the last look. */
  leaked: Record<string, number>;
  pools: Record<string, number>;
  servers: Record<string, number>;
  waiting: number;
  clientSessions: number;
  /** How long until they agreed (or the bound, when they never did). */
  settledMs: number;
  isSettled: boolean;
}

/**
 * Polls until, on every node, Meridian's pools and the server agree, no session waits for a
 * backend and no client session is left (the load has ended); bounded by timeoutMs.
 */
export async function settleLeaks(mer: MeridianProcess, nodes: readonly PgNode[], timeoutMs = 10_000): Promise<LeakReport> {
  const started = Date.now();
  for (;;) {
    const view = await poolView(mer);
    const servers: Record<string, number> = {};
    const pools: Record<string, number> = {};
    const leaked: Record<string, number> = {};
    for (const n of nodes) {
      servers[n.name] = await serverBackends(n);
      pools[n.name] = view.total.get(n.name) ?? 0;
      leaked[n.name] = Math.abs(servers[n.name]! - pools[n.name]!);
    }
    const isSettled = Object.values(leaked).every((v) => v === 0) && view.waiting === 0 && view.clientSessions === 0;
    const report: LeakReport = {
      leaked,
      pools,
      servers,
      waiting: view.waiting,
      clientSessions: view.clientSessions,
      settledMs: Date.now() - started,
      isSettled,
    };
    if (isSettled || Date.now() - started > timeoutMs) return report;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Sum of the per-node differences. */
export function leakedTotal(r: LeakReport): number {
  return Object.values(r.leaked).reduce((a, b) => a + b, 0);
}
