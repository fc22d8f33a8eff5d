// What a session needs from the rest of the proxy, as one interface, so frontend/ depends on
// behaviour, not on how the server object wires health, routing, admin and metrics together.

import type { Classification, RouteHint } from '../classify/types.js';
import type { MeridianConfig, ResidencyRule } from '../config/types.js';
import type { PoolManager } from '../backend/pool-manager.js';
import type { RouteDecision, RouteIntent, SessionRouteContext } from '../router/types.js';
import type { TopologySnapshot } from '../topology/types.js';
import type { Logger } from '../logger.js';
import type { MeridianError } from '../errors.js';
import type { Session } from './session.js';

export interface SessionRouting {
  readonly residency: ResidencyRule | null;
  readonly clientRegion: string | null;
  /** The router's view of the session, built once (the router caches per residency set). */
  readonly routeContext: SessionRouteContext;
}

export function sessionRouting(residency: ResidencyRule | null, clientRegion: string | null): SessionRouting {
  return {
    residency,
    clientRegion,
    routeContext: Object.freeze({
      allowedRegions: residency === null ? null : new Set(residency.regions),
      residencyRule: residency?.name ?? null,
      clientRegion,
      sessionHint: null,
    }),
  };
}

export interface AdminReply {
  /** Complete response frames for one simple Query, without ReadyForQuery. */
  readonly frames: Buffer;
}

export interface ProxyContext {
  readonly cfg: () => MeridianConfig;
  readonly logger: Logger;
  readonly pools: PoolManager;
  classify(sql: string): Classification;
  snapshot(): TopologySnapshot;
  route(intent: RouteIntent, hint: RouteHint | null, session: Session): RouteDecision;
  /** Resolves true when the topology changed before the deadline. */
  waitForTopologyChange(timeoutMs: number): Promise<boolean>;
  /** Passive health: a node refused/reset a connection or said 57P01/02/03. */
  reportNodeFailure(node: string, reason: string): void;
  /** A node may have changed role (it refused a write as read-only): probe it now; resolves after. */
  recheckNode(node: string): Promise<void>;
  onCatalogChanged(): void;
  /** ParameterStatus values to show at startup (opens a backend the first time), or why not. */
  serverParamsFor(s: Session): Promise<Map<string, string> | MeridianError>;
  /** Admin console query (database = admin.database). */
  adminQuery(sql: string, session: Session): Promise<AdminReply>;
  isShuttingDown(): boolean;
  registerSession(s: Session): void;
  unregisterSession(s: Session): void;
  findSessionForCancel(pid: number, secret: number): Session | null;
  readonly metrics: SessionMetrics;
}

/** The counters sessions touch on the hot path (children cached per label set). */
export interface SessionMetrics {
  routed(node: string, intent: RouteIntent): void;
  requestDone(seconds: number): void;
  error(sqlstate: string): void;
  poolWait(seconds: number): void;
  retried(reason: 'backend-lost' | 'read-only' | 'standby-refused'): void;
  residencyRefused(rule: string): void;
  /** A client login failed (reason from a small fixed set). */
  authFailed?(reason: string): void;
}
