// The one catalogue of errors Meridian itself produces. Each has a stable code, a SQLSTATE and a
// severity; protocol/encode.ts turns one into an ErrorResponse. Expected failures are values
// (returned or emitted), `throw` is for bugs and start-up. Messages built from a socket or probe
// error name the node only: addresses are cut (client-safe.ts) and the full text is kept in
// `internal`, for the log, never for the wire.

import { clientSafeReason, redactAddresses } from './client-safe.js';

export { clientSafeReason, redactAddresses };

export type Severity = 'ERROR' | 'FATAL';

export class MeridianError extends Error {
  readonly code: string;
  readonly sqlstate: string;
  readonly severity: Severity;
  readonly detail: string | null;
  readonly hint: string | null;
  /** What the client was not told (a node's address in a connect error): for logs only. */
  readonly internal: string | null;

  constructor(
    code: string,
    sqlstate: string,
    severity: Severity,
    message: string,
    detail: string | null = null,
    hint: string | null = null,
    internal: string | null = null,
  ) {
    super(message);
    this.name = 'MeridianError';
    this.code = code;
    this.sqlstate = sqlstate;
    this.severity = severity;
    this.detail = detail;
    this.hint = hint;
    this.internal = internal;
  }
}

/** The text to log for an error: its message plus what the client was not told. */
export function logText(err: MeridianError): string {
  return err.internal === null ? err.message : `${err.message} (${err.internal})`;
}

/** `why` as a client may see it; the original when it differs (for `internal`). */
function safe(why: string, shorten: (s: string) => string = clientSafeReason): [string, string | null] {
  const shown = shorten(why);
  return [shown, shown === why ? null : why];
}

/** SQLSTATE for a residency refusal: Meridian's own code in class 57 (operator intervention). */
export const RESIDENCY_SQLSTATE = '57M01';

const make =
  (code: string, sqlstate: string, severity: Severity) =>
  (message: string, detail: string | null = null, hint: string | null = null) =>
    new MeridianError(code, sqlstate, severity, message, detail, hint);

export const Errors = {
  protocolViolation: make('PROTOCOL_VIOLATION', '08P01', 'FATAL'),
  unsupportedProtocol: make('UNSUPPORTED_PROTOCOL', '08P01', 'FATAL'),
  authFailed: (user: string) => new MeridianError('AUTH_FAILED', '28P01', 'FATAL', `password authentication failed for user "${user}"`),
  tlsRequired: () => new MeridianError('TLS_REQUIRED', '28000', 'FATAL', 'SSL connection is required by Meridian (tls.mode: require)'),
  backendLost: (node: string, why: string) => {
    const [shown, internal] = safe(why);
    return new MeridianError('BACKEND_LOST', '08006', 'FATAL', `server connection to node "${node}" was lost: ${shown}`, null, null, internal);
  },
  /** A transaction replayed after its backend was lost (routing.transaction_replay) did not give the client's results again. */
  replayMismatch: (node: string, why: string) =>
    new MeridianError(
      'REPLAY_MISMATCH',
      '08006',
      'FATAL',
      `server connection to node "${node}" was lost in a transaction, and replaying it gave different results: the transaction was rolled back`,
      why,
      null,
      null,
    ),
  /** The backend was lost after a COMMIT (or PREPARE TRANSACTION) was sent: whether it committed is not known. */
  commitOutcomeUnknown: (node: string, why: string) => {
    const [shown, internal] = safe(why);
    return new MeridianError(
      'COMMIT_OUTCOME_UNKNOWN',
      '08007',
      'FATAL',
      `server connection to node "${node}" was lost after COMMIT was sent: the transaction may or may not have committed`,
      shown,
      'Check whether its changes are there before running it again.',
      internal,
    );
  },
  backendLostInRequest: (node: string, why: string) => {
    const [shown, internal] = safe(why);
    return new MeridianError(
      'BACKEND_LOST',
      '08006',
      'ERROR',
      `server connection to node "${node}" was lost during the request: ${shown}`,
      null,
      null,
      internal,
    );
  },
  cannotConnect: (node: string, why: string) => {
    const [shown, internal] = safe(why);
    return new MeridianError('CANNOT_CONNECT', '08001', 'ERROR', `could not connect to node "${node}": ${shown}`, null, null, internal);
  },
  /** A causal token's write is on no node that can serve the read (within routing.causal_wait). */
  causalUnavailable: (why: string) => {
    const [shown, internal] = safe(why, redactAddresses);
    return new MeridianError(
      'CAUSAL_UNAVAILABLE',
      '57M02',
      'ERROR',
      shown,
      null,
      'the node that took the write is down or out of routing, and no other node is known to have it yet',
      internal,
    );
  },
  /** `why` names nodes and their probe failures: addresses in it are cut, not its other words. */
  noRoute: (why: string) => {
    const [shown, internal] = safe(why, redactAddresses);
    return new MeridianError('NO_ROUTE', '57P03', 'ERROR', shown, null, null, internal);
  },
  residencyRefused: (rule: string, why: string) => {
    const [shown, internal] = safe(why, redactAddresses);
    return new MeridianError(
      'RESIDENCY_REFUSED',
      RESIDENCY_SQLSTATE,
      'ERROR',
      rule.includes('+')
        ? `residency rules "${rule}" together allow no healthy node for this request: ${shown}`
        : `residency rule "${rule}" allows no healthy node for this request: ${shown}`,
      null,
      null,
      internal,
    );
  },
  /** Login refused by residency (require_match, or matched rules sharing no region); also after a reload. */
  residencyDenied: (why: string) => new MeridianError('RESIDENCY_DENIED', RESIDENCY_SQLSTATE, 'FATAL', why),
  /** A reload narrowed residency while the session held a backend on a node it may no longer use. */
  residencyNarrowed: (node: string, rule: string) =>
    new MeridianError(
      'RESIDENCY_NARROWED',
      RESIDENCY_SQLSTATE,
      'FATAL',
      `terminating session: after a configuration reload, residency "${rule}" no longer allows node "${node}", which this session holds (a transaction, a pin or a session-pooled backend)`,
    ),
  /** A meridian.tenant claim outside the user's users[].tenants. */
  tenantClaimRefused: (why: string) => new MeridianError('TENANT_CLAIM_REFUSED', '28000', 'FATAL', why),
  shuttingDown: () => new MeridianError('SHUTTING_DOWN', '57P01', 'FATAL', 'Meridian is shutting down'),
  userRemoved: (user: string) =>
    new MeridianError('USER_REMOVED', '57P01', 'FATAL', `terminating connection: user "${user}" was removed from the configuration by a reload`),
  tooManyClients: (max: number) => new MeridianError('TOO_MANY_CLIENTS', '53300', 'FATAL', `too many client connections (pool.max_clients = ${max})`),
  tooManyClientsReserved: (max: number, reserved: number) =>
    new MeridianError(
      'TOO_MANY_CLIENTS',
      '53300',
      'FATAL',
      `too many client connections: the remaining ${reserved} of pool.max_clients (${max}) are reserved for the admin console`,
    ),
  tooManyPendingLogins: (max: number) =>
    new MeridianError('TOO_MANY_PENDING_LOGINS', '53300', 'FATAL', `too many connections still logging in (limits.max_pending_logins = ${max})`),
  tooManyForUser: (user: string, max: number) =>
    new MeridianError('TOO_MANY_FOR_USER', '53300', 'FATAL', `too many connections for role "${user}"`, `users[].max_connections is ${max}`),
  loginTimeout: (ms: number) => new MeridianError('LOGIN_TIMEOUT', '08P01', 'FATAL', `login timeout: not logged in within limits.auth_timeout (${ms} ms)`),
  idleTransactionTimeout: () =>
    new MeridianError(
      'IDLE_TX_TIMEOUT',
      '25P03',
      'FATAL',
      'terminating connection due to idle-in-transaction timeout',
      'the session was idle inside a transaction longer than limits.idle_transaction_timeout',
    ),
  idleSessionTimeout: () =>
    new MeridianError(
      'IDLE_SESSION_TIMEOUT',
      '57P05',
      'FATAL',
      'terminating connection due to idle-session timeout',
      'the session was idle longer than limits.client_idle_timeout',
    ),
  poolTimeout: (node: string, ms: number) =>
    new MeridianError('POOL_TIMEOUT', '57014', 'ERROR', `timed out after ${ms} ms waiting for a server connection to node "${node}" (pool.queue_timeout)`),
  pinnedNodeLost: (node: string) =>
    new MeridianError('PINNED_NODE_LOST', '08006', 'FATAL', `session was pinned to node "${node}", which is no longer available`),
  queryCanceled: () => new MeridianError('QUERY_CANCELED', '57014', 'ERROR', 'canceling statement due to user request'),
  featureNotSupported: (what: string) => new MeridianError('NOT_SUPPORTED', '0A000', 'ERROR', what),
  /** `commands`: the console's command names (its command table), listed in the hint. */
  adminUnknownCommand: (cmd: string, commands: readonly string[]) =>
    new MeridianError('ADMIN_UNKNOWN', '42601', 'ERROR', `unknown admin command: ${cmd}`, null, commands.length === 0 ? null : `try ${commands.join(', ')}`),
  adminFailed: (msg: string) => new MeridianError('ADMIN_FAILED', '55000', 'ERROR', msg),
  /**
   * A fleet-wide command (DRAIN, UNDRAIN with `fleet:`) while etcd is unreachable: refused, so no
   * instance drains a node the others keep using. Class 57 (operator intervention), like 57M01/57M02.
   */
  fleetStale: (why: string) =>
    new MeridianError(
      'FLEET_STALE',
      '57M03',
      'ERROR',
      `fleet-wide command refused: etcd is unreachable (${why}); this instance serves with the last known fleet state`,
      null,
      'retry once SHOW FLEET says ok; a DRAIN for this instance alone is not possible while it belongs to a fleet',
    ),
  invalidParameter: (msg: string) => new MeridianError('INVALID_PARAMETER', '22023', 'ERROR', msg),
  limitExceeded: (what: string) => new MeridianError('LIMIT_EXCEEDED', '54000', 'ERROR', what),
  sessionLimitExceeded: (what: string) => new MeridianError('LIMIT_EXCEEDED', '54000', 'FATAL', what),
  internal: (where: string) =>
    new MeridianError('INTERNAL', 'XX000', 'FATAL', `internal error in Meridian (${where}); the session is closed, others are not affected`),
  nodeDrained: (node: string) => new MeridianError('NODE_DRAINED', '57P03', 'ERROR', `node "${node}" is drained or draining`),
} as const;
