// The narrow views admin (console commands and the HTTP API) works through. The process object
// hands admin an AdminHost; admin's own state (drains in progress, the reload queue, shutdown
// handlers) lives in the objects console.ts builds over it. Admin never sees the server class,
// and node state changes only through AdminTopology.setAdminState, the store's one mutation
// function that health uses too. Types only.

import type { PoolManager } from '../backend/pool-manager.js';
import type { Classification } from '../classify/types.js';
import type { MeridianConfig } from '../config/types.js';
import type { FleetLink } from '../fleet/link.js';
import type { Session } from '../frontend/session.js';
import type { LagStatus } from '../health/lag-problem.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PatroniSource } from '../patroni/patroni-source.js';
import type { ReloadResult } from '../reload.js';
import type { ActiveBackends, LastRouted, RoutePolicy } from '../router/types.js';
import type { TopologyStore } from '../topology/topology-store.js';

/** What admin reads of a client session, and the two ways it acts on one (drain timeout). */
export type AdminSession = Pick<
  Session,
  | 'id'
  | 'isAdmin'
  | 'ident'
  | 'routing'
  | 'state'
  | 'attached'
  | 'sessionBackends'
  | 'writeMark'
  | 'causalMark'
  | 'routedReads'
  | 'routedWrites'
  | 'connectedAtMs'
  | 'cancelCurrent'
  | 'close'
>;

export type AdminPools = Pick<PoolManager, 'poolsOfNode' | 'allPools' | 'setNodeDraining' | 'activeBackends'>;

export type AdminTopology = Pick<TopologyStore, 'snapshot' | 'setAdminState' | 'holdWrites'>;

/** What the router needs besides the request, the snapshot and the session context. */
export interface RouteInputs {
  readonly policy: RoutePolicy;
  readonly activeBackends: ActiveBackends;
  readonly lastRouted: LastRouted;
}

/** One read of the config file: the validated config, or the failed reload it makes. */
export type ConfigRead = { readonly ok: true; readonly config: MeridianConfig } | { readonly ok: false; readonly failure: ReloadResult };

export interface AdminHost {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The running config (a reload replaces it whole). */
  readonly config: MeridianConfig;
  readonly topology: AdminTopology;
  /** The rest of a multi-process instance (`workers` > 1); null in a single process. */
  readonly fleet: FleetLink | null;
  readonly sessions: ReadonlyMap<number, AdminSession>;
  readonly pools: AdminPools;
  routeInputs(): RouteInputs;
  classify(sql: string): Classification;
  lagStatusOf(node: string): LagStatus | null;
  /** How long the client janitor last saw session `id` wait for its client; null while a request runs. */
  idleMsOf(id: number): number | null;
  /** The Patroni poller (cluster.patroni) of this process, for SWITCHOVER TO; null without Patroni or in a worker. */
  patroni(): PatroniSource | null;
  isShuttingDown(): boolean;
  stop(graceMs: number): Promise<void>;
  /** Reads and validates the config file, once per reload (a failure is counted and logged). */
  readConfig(): ConfigRead;
  /** Applies a config readConfig returned: every reloadable component takes it. */
  applyConfig(next: MeridianConfig): ReloadResult;
}
