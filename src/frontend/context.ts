// What a session needs from the rest of the proxy, as one interface, so frontend/ depends on
// behaviour, not on how the server object wires health, routing, admin and metrics together.

import type { RequestTracer } from '../tracing/request-trace.js';
import type { RouteHint } from '../classify/types.js';
import type { ResidencyVerdict, SessionResidency } from '../config/residency-match.js';
import type { PoolManager } from '../backend/pool-manager.js';
import type { RouteDecision, RouteIntent, SessionRouteContext } from '../router/types.js';
import type { SnapshotSource } from '../topology/wait-for-route.js';
import type { Logger } from '../logger.js';
import { Errors, type MeridianError } from '../errors.js';
import type { CancelForwarder } from './cancel-limits.js';
import type { AdminReply, RelayContext, SessionRef } from './types.js';

export type { AdminReply, SessionMetrics } from './types.js';

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

/**
 * Methods taking a session get the Session itself (they are declared with SessionRef so this file
 * does not import the Session class back; the implementation may read more of it).
 */
export interface ProxyContext extends RelayContext {
  readonly logger: Logger;
  readonly pools: PoolManager;
  /** The topology as health checks publish it: routing.write_wait waits on it (topology/wait-for-route.ts). */
  readonly health: SnapshotSource;
  route(intent: RouteIntent, hint: RouteHint | null, session: SessionRef): RouteDecision;
  onCatalogChanged(): void;
  /** ParameterStatus values to show at startup (opens a backend the first time), or why not. */
  serverParamsFor(s: SessionRef): Promise<Map<string, string> | MeridianError>;
  /** Admin console query (database = admin.database). */
  adminQuery(sql: string, session: SessionRef): Promise<AdminReply>;
  isShuttingDown(): boolean;
  /** Spans per request (tracing.enabled), else a no-op. */
  readonly tracer: RequestTracer;
  /** Authentication succeeded: admits the login under the client limits (login-limits.ts), or says why not. */
  admitLogin(s: SessionRef, isAdminConsole: boolean): MeridianError | null;
  registerSession(s: SessionRef): void;
  /** The session closed, in whatever phase (it may never have been registered). */
  unregisterSession(s: SessionRef): void;
  readonly cancels: CancelForwarder;
  findSessionForCancel(pid: number, secret: number): SessionRef | null;
}
