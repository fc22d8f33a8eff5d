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
