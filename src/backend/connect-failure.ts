// Tells a failed connect attempt that says something about the node (refused, reset, timed out,
// the server's own refusal) from one that only says this machine is short of something: out of
// file descriptors (EMFILE, ENFILE), memory or buffers (ENOMEM, ENOBUFS), or local ports
// (EADDRNOTAVAIL, EADDRINUSE). A local failure must never count against a node's health: evicting
// healthy nodes because Meridian itself ran out of descriptors would turn overload into an outage.

/** errno codes that describe this host, not the node connected to. */
const LOCAL_CODES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'ENOBUFS', 'EADDRNOTAVAIL', 'EADDRINUSE']);

const CODE_IN_MESSAGE = /\b(E[A-Z]{3,15})\b/g;

/**
 * True when the failure is local. Reads an errno `code` on the error or its `cause` when there is
 * one, else the code Node puts in the message ("connect EMFILE 127.0.0.1:5432 - Local …").
 */
export function isLocalConnectFailure(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { code?: unknown; cause?: unknown; message?: unknown; isLocal?: unknown; serverError?: unknown };
  if (typeof e.isLocal === 'boolean') return e.isLocal;
  if (e.serverError !== undefined && e.serverError !== null) return false; // the node answered
  if (typeof e.code === 'string' && LOCAL_CODES.has(e.code)) return true;
  if (e.cause !== undefined && e.cause !== err && isLocalConnectFailure(e.cause)) return true;
  if (typeof e.message !== 'string') return false;
  for (const m of e.message.matchAll(CODE_IN_MESSAGE)) if (LOCAL_CODES.has(m[1]!)) return true;
  return false;
}

/**
 * SQLSTATEs a node answers a new connection with when it cannot take one now: shutting down
 * (57P01 admin_shutdown, 57P02 crash_shutdown) or starting up / in recovery (57P03).
 */
export function isUnavailableCode(code: string | undefined): boolean {
  return code === '57P01' || code === '57P02' || code === '57P03';
}

/**
 * A failed connect that says the node is unusable now and that nothing ran on it: refused,
 * reset, timed out or closed during startup, or the node's own "shutting down / starting up".
 * A request that got it may go to another node. Not a local failure (out of descriptors or
 * ports here: another node would fail the same way), not authentication or a full node.
 */
export function isNodeUnavailable(err: unknown): boolean {
  if (err === null || typeof err !== 'object' || isLocalConnectFailure(err)) return false;
  const e = err as { isRefused?: unknown; serverError?: { code?: string } | null };
  return e.isRefused === true || isUnavailableCode(e.serverError?.code);
}
