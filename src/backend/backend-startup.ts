// The startup settings a backend is opened with (session pooling: the client's own, so that its
// RESET, RESET ALL and DISCARD ALL return to them as on a direct connection), the identity of such
// a set (pools hand a backend only to a session whose set is the same), and the SQL form in which
// Meridian books a setting, shared by the session state and the backend's books.

/** Settings sent in a backend's StartupMessage, and their identity. */
export interface BackendStartup {
  /** Sorted name/value pairs as one string ('' for none): equal sets, equal keys. */
  readonly key: string;
  /** Lower-case name → value, as the client sent it. */
  readonly params: ReadonlyMap<string, string>;
}

/** The settings a server reports in ParameterStatus (GUC_REPORT): lower-case name → its name. */
export const REPORTED_SETTINGS: ReadonlyMap<string, string> = new Map(
  [
    'application_name',
    'client_encoding',
    'DateStyle',
    'default_transaction_read_only',
    'in_hot_standby',
    'integer_datetimes',
    'IntervalStyle',
    'is_superuser',
    'server_encoding',
    'server_version',
    'session_authorization',
    'standard_conforming_strings',
    'TimeZone',
  ].map((n) => [n.toLowerCase(), n]),
);

export const NO_STARTUP: BackendStartup = { key: '', params: new Map() };

export function backendStartup(params: ReadonlyMap<string, string>): BackendStartup {
  if (params.size === 0) return NO_STARTUP;
  let key = '';
  for (const [k, v] of [...params].sort((a, b) => (a[0] < b[0] ? -1 : 1))) key += `${k}\u0000${v}\u0001`;
  return { key, params };
}

export function quoteLiteral(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** The SQL that applies one setting for the session (how settings are booked, see SessionState). */
export function settingSql(name: string, value: string): string {
  return `SELECT pg_catalog.set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, false)`;
}

/** A backend's settings books right after it was opened or DISCARD ALL: its startup settings. */
export function startupBooks(startup: BackendStartup, into: Map<string, string>): void {
  into.clear();
  for (const [k, v] of startup.params) into.set(k, settingSql(k, v));
}
