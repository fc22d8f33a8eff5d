// What a session needs from the rest of the proxy, as one interface, so frontend/ depends on
// behaviour, not on how the server object wires health, routing, admin and metrics together.

import type { Classification, RouteHint } from '../classify/types.js';
import type { ResidencyDenial, ResidencyVerdict, SessionResidency } from '../config/residency-match.js';
import type { MeridianConfig } from '../config/types.js';
import type { PoolManager } from '../backend/pool-manager.js';
import type { RouteDecision, RouteIntent, SessionRouteContext } from '../router/types.js';
import type { TopologySnapshot } from '../topology/types.js';
import type { Logger } from '../logger.js';
import { Errors, type MeridianError } from '../errors.js';
import type { Session } from './session.js';
import type { CancelForwarder } from './cancel-limits.js';

export interface SessionRouting {
  /** Every residency rule the session matched and the regions all of them allow; null: none matched. */
  readonly residency: SessionResidency | null;
  readonly clientRegion: string | null;
  /** The router's view of the session, built once (the router caches per residency set). */
  readonly routeContext: SessionRouteContext;
}

export function sessionRouting(residency: SessionResidency | null, clientRegion: string | null): SessionRouting {
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

/** The error a refused residency verdict sends: 28000 for a tenant claim, else 57M01 (both FATAL). */
export function residencyDenialError(verdict: Extract<ResidencyVerdict, { ok: false }>): MeridianError {
  return verdict.denial === 'tenant-claim' ? Errors.tenantClaimRefused(verdict.message) : Errors.residencyDenied(verdict.message);
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
  /** Authentication succeeded: admits the login under the client limits (login-limits.ts), or says why not. */
  admitLogin(s: Session, isAdminConsole: boolean): MeridianError | null;
  registerSession(s: Session): void;
  /** The session closed, in whatever phase (it may never have been registered). */
  unregisterSession(s: Session): void;
  readonly cancels: CancelForwarder;
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
  /** A session handler threw (a bug): the session was closed, the process kept running. */
  sessionCrash(): void;
  /** A session refused at login, or closed after a reload, by residency (see ResidencyDenial). */
  residencyDenied(reason: ResidencyDenial | 'reload'): void;
  /** A client login failed (reason from a small fixed set). */
  authFailed?(reason: string): void;
}
