// The one catalogue of errors Meridian itself produces. Each has a stable code, a SQLSTATE and a
// severity; protocol/encode.ts turns one into an ErrorResponse. Expected failures are values
// (returned or emitted), `throw` is for bugs and start-up.

export type Severity = 'ERROR' | 'FATAL';

export class MeridianError extends Error {
  readonly code: string;
  readonly sqlstate: string;
  readonly severity: Severity;
  readonly detail: string | null;
  readonly hint: string | null;

  constructor(code: string, sqlstate: string, severity: Severity, message: string, detail: string | null = null, hint: string | null = null) {
    super(message);
    this.name = 'MeridianError';
    this.code = code;
    this.sqlstate = sqlstate;
    this.severity = severity;
    this.detail = detail;
    this.hint = hint;
  }
}

/** SQLSTATE for a residency refusal: Meridian's own code in class 57 (operator intervention). */
export const RESIDENCY_SQLSTATE = '57M01';

const make = (code: string, sqlstate: string, severity: Severity) =>
  (message: string, detail: string | null = null, hint: string | null = null) =>
    new MeridianError(code, sqlstate, severity, message, detail, hint);

export const Errors = {
  protocolViolation: make('PROTOCOL_VIOLATION', '08P01', 'FATAL'),
  unsupportedProtocol: make('UNSUPPORTED_PROTOCOL', '08P01', 'FATAL'),
  authFailed: (user: string) =>
    new MeridianError('AUTH_FAILED', '28P01', 'FATAL', `password authentication failed for user "${user}"`),
  unknownUser: (user: string) =>
    new MeridianError('AUTH_FAILED', '28P01', 'FATAL', `password authentication failed for user "${user}"`),
  tlsRequired: () =>
    new MeridianError('TLS_REQUIRED', '28000', 'FATAL', 'SSL connection is required by Meridian (tls.mode: require)'),
  backendLost: (node: string, why: string) =>
    new MeridianError('BACKEND_LOST', '08006', 'FATAL', `server connection to node "${node}" was lost: ${why}`),
  backendLostInRequest: (node: string, why: string) =>
    new MeridianError('BACKEND_LOST', '08006', 'ERROR', `server connection to node "${node}" was lost during the request: ${why}`),
  cannotConnect: (node: string, why: string) =>
    new MeridianError('CANNOT_CONNECT', '08001', 'ERROR', `could not connect to node "${node}": ${why}`),
  noRoute: (why: string) => new MeridianError('NO_ROUTE', '57P03', 'ERROR', why),
  residencyRefused: (rule: string, why: string) =>
    new MeridianError('RESIDENCY_REFUSED', RESIDENCY_SQLSTATE, 'ERROR',
      `residency rule "${rule}" allows no healthy node for this request: ${why}`),
  shuttingDown: () => new MeridianError('SHUTTING_DOWN', '57P01', 'FATAL', 'Meridian is shutting down'),
  userRemoved: (user: string) =>
    new MeridianError('USER_REMOVED', '57P01', 'FATAL', `terminating connection: user "${user}" was removed from the configuration by a reload`),
  tooManyClients: (max: number) =>
    new MeridianError('TOO_MANY_CLIENTS', '53300', 'FATAL', `too many client connections (pool.max_clients = ${max})`),
  poolTimeout: (node: string, ms: number) =>
    new MeridianError('POOL_TIMEOUT', '57014', 'ERROR',
      `timed out after ${ms} ms waiting for a server connection to node "${node}" (pool.queue_timeout)`),
  pinnedNodeLost: (node: string) =>
    new MeridianError('PINNED_NODE_LOST', '08006', 'FATAL',
      `session was pinned to node "${node}", which is no longer available`),
  queryCanceled: () => new MeridianError('QUERY_CANCELED', '57014', 'ERROR', 'canceling statement due to user request'),
  featureNotSupported: (what: string) => new MeridianError('NOT_SUPPORTED', '0A000', 'ERROR', what),
  adminUnknownCommand: (cmd: string) =>
    new MeridianError('ADMIN_UNKNOWN', '42601', 'ERROR', `unknown admin command: ${cmd}`,
      null, 'try SHOW NODES, SHOW POOLS, SHOW SESSIONS, SHOW CONFIG, SHOW RESIDENCY, SHOW STATS, DRAIN, UNDRAIN, RELOAD, EXPLAIN ROUTE, SHUTDOWN'),
  adminFailed: (msg: string) => new MeridianError('ADMIN_FAILED', '55000', 'ERROR', msg),
  invalidParameter: (msg: string) => new MeridianError('INVALID_PARAMETER', '22023', 'ERROR', msg),
  nodeDrained: (node: string) =>
    new MeridianError('NODE_DRAINED', '57P03', 'ERROR', `node "${node}" is drained or draining`),
} as const;
