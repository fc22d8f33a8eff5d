// The transport seam: listen/accept, connect, and the TLS upgrade after SSLRequest on both sides.
// Everything above it (server.ts, sessions, backends) uses this interface, Conn and Input only,
// and never knows which runtime carries the bytes. Implementations: node-transport.ts (node:net,
// node:tls) and bun-transport.ts (Bun's native sockets); runtime.ts picks one per process.

import type { BackendTls } from '../backend/backend-tls.js';
import type { Conn, Input } from './conn.js';

export type RuntimeName = 'node' | 'bun';

/** A listening socket. */
export interface Listener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting; resolves once the connections it accepted have ended (or at once on Bun). */
  close(): Promise<void>;
}

/** How a listener binds. */
export interface ListenOptions {
  /**
   * Other processes of the same instance listen on this address too (the workers of `workers` > 1).
   * On Bun each binds it with SO_REUSEPORT and the kernel spreads new connections over them; on
   * Node.js the cluster module already shares one socket, so nothing changes.
   */
  readonly shared?: boolean;
}

export interface AcceptHandlers {
  /**
   * Asked first, for every connection: a frame to answer it with instead of a session (the
   * connection is then written once, read and dropped, destroyed a second later), or null.
   */
  refuse(): Buffer | null;
  /** A connection to serve; its Input delivers nothing until a handler is set. */
  accept(conn: Conn, input: Input): void;
}

/** The server-side TLS of client connections (tls.cert / tls.key), prepared once. */
export interface ServerTls {
  /**
   * Starts TLS as the server on `conn` (SSLYes was just written). Returns the connection to use
   * from now on (a new object on Node.js, the same one on Bun); `input` delivers plaintext.
   */
  upgrade(conn: Conn, input: Input): Conn;
}

export interface ConnectHandlers {
  /** TCP is up. */
  connected(): void;
}

export interface Transport {
  readonly runtime: RuntimeName;
  /** The runtime's version (process.versions.node or Bun.version). */
  readonly version: string;
  listen(host: string, port: number, handlers: AcceptHandlers, options?: ListenOptions): Promise<Listener>;
  /** Opens a connection; failures arrive as 'error' and 'close' on the Conn. */
  connect(host: string, port: number, handlers: ConnectHandlers): { conn: Conn; input: Input };
  /** PEM certificate chain and key; throws (at start-up) when they do not load. */
  serverTls(certPem: Buffer, keyPem: Buffer): ServerTls;
  /**
   * Starts TLS as the client toward `host` (the node answered 'S'). `secured` runs once the
   * handshake is done and the certificate passed `tls` (sslmode); failures are 'error' events.
   */
  upgradeClient(conn: Conn, input: Input, tls: BackendTls, host: string, secured: () => void): Conn;
}
