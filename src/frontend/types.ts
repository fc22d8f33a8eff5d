// The narrow interfaces the session's helpers work through — the relay, the retry policy,
// deferred BEGIN, Meridian's own settings, the admin console — and the small records they share.
// The session implements them; helpers never see the Session class, so no frontend file imports
// session.ts back (only session-startup.ts, server.ts and admin/ do). Types only.

import type { Backend } from '../backend/backend.js';
import type { SpanWriter } from '../backend/span-writer.js';
import type { Classification } from '../classify/types.js';
import type { ResidencyDenial } from '../config/residency-match.js';
import type { MeridianConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { RouteIntent } from '../router/types.js';
import type { TopologySnapshot } from '../topology/types.js';
import type { Request } from './request.js';
import type { SessionState } from './session-state.js';

export interface SessionIdentity {
  user: string;
  database: string;
  applicationName: string;
  tenant: string | null;
  clientRegion: string | null;
  remoteAddress: string;
}

/** A BEGIN Meridian answered, not yet sent to a server (deferred-begin.ts). */
export interface DeferredBegin {
  /** The client's statement text, sent as it was. */
  readonly sql: string;
  /** Its classification: modes (isWrite, readOnly) and a leading-comment hint route the transaction. */
  readonly cls: Classification;
  /** A request of the transaction failed before reaching a server: the block is aborted. */
  failed: boolean;
}

/** A session as the rest of the proxy refers to it through ProxyContext (Session implements it). */
export interface SessionRef {
  readonly id: number;
  /** CancelRequest for this session. */
  cancelCurrent(): void;
}

/** The counters sessions touch on the hot path (children cached per label set). */
export interface SessionMetrics {
  routed(node: string, intent: RouteIntent): void;
  requestDone(seconds: number): void;
  error(sqlstate: string): void;
  poolWait(seconds: number): void;
  retried(reason: 'backend-lost' | 'read-only' | 'standby-refused'): void;
  /** A request routed again: its node could not be connected to and nothing of it had run. */
  routedAgain(intent: RouteIntent): void;
  /** Transaction replay (routing.transaction_replay): one began, caught up, differed, or could not be done. */
  txReplay(result: 'started' | 'succeeded' | 'mismatched' | 'refused'): void;
  residencyRefused(rule: string): void;
  /** A session handler threw (a bug): the session was closed, the process kept running. */
  sessionCrash(): void;
  /** A session refused at login, or closed after a reload, by residency (see ResidencyDenial). */
  residencyDenied(reason: ResidencyDenial | 'reload'): void;
  /** A client login failed (reason from a small fixed set). */
  authFailed?(reason: string): void;
}

export interface AdminReply {
  /** Complete response frames for one simple Query, without ReadyForQuery. */
  readonly frames: Buffer;
}

/** What the admin console needs of the proxy (session-admin.ts). */
export interface AdminContext {
  adminQuery(sql: string, session: SessionRef): Promise<AdminReply>;
}

/** What the relay needs of the proxy (ProxyContext extends it). */
export interface RelayContext {
  readonly cfg: () => MeridianConfig;
  classify(sql: string): Classification;
  snapshot(): TopologySnapshot;
  readonly metrics: SessionMetrics;
  /** Passive health: a node refused/reset a connection or said 57P01/02/03. */
  reportNodeFailure(node: string, reason: string): void;
  /** A node may have changed role (it refused a write as read-only): probe it now; resolves after. */
  recheckNode(node: string): Promise<void>;
}

/**
 * The relay's view of its session (session-relay.ts): where answers go, the request in flight,
 * the session's statements and settings, and the few session moves a server frame can cause.
 */
export interface RelayHost {
  readonly ctx: RelayContext;
  readonly log: Logger;
  readonly out: SpanWriter;
  readonly state: SessionState;
  readonly req: Request;
  /** The session's residency (null: the whole cluster): a shared backend's node must still be allowed. */
  readonly allowedRegions: ReadonlySet<string> | null;
  /** Statement class of the portal bound last (its Execute applies the effects); outlives a request. */
  portalCls: Classification | null;
  /** A ReadyForQuery ended a client-visible request (`query`: its simple Query's class). */
  endRequest(b: Backend, status: number, query: Classification | null): void;
  /** A refusal that is safe to retry reached its ReadyForQuery: send the request again. */
  retryRefused(b: Backend, isRead: boolean): void;
  /** Release the backend if nothing keeps the session on it. */
  detachIfIdle(b: Backend): void;
  /** The backend's socket is full: stop reading the client until it drains. */
  waitBackendDrain(b: Backend): void;
  /** Frames held meanwhile are to be taken once the current callback returns. */
  requestPump(): void;
  /** A write request (or transaction) ended outside a transaction on `b`: its causal token is known. */
  writeAcknowledged(b: Backend): void;
}

/** What answering SET meridian.* needs (request-plan.ts). */
export interface MeridianSettingsHost {
  readonly ctx: { classify(sql: string): Classification };
  readonly state: SessionState;
  readonly out: SpanWriter;
  /** ReadyForQuery for a request Meridian answered itself. */
  readyForQueryNow(): Buffer;
  /** Why a causal token cannot be used here (22023's words), or null when it can. */
  causalTokenProblem(token: string): string | null;
  /** SHOW meridian.<name>: the value as text. */
  meridianSettingText(name: string): string;
}

/** What deferred BEGIN decides on (deferred-begin.ts). */
export interface DeferHost {
  readonly ctx: { readonly cfg: () => MeridianConfig };
  readonly state: SessionState;
  readonly req: Request;
  readonly out: SpanWriter;
  readonly isSessionPooled: boolean;
  deferredBegin: DeferredBegin | null;
  readyForQueryNow(): Buffer;
}
