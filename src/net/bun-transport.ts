// The transport on Bun's native sockets (Bun.listen, Bun.connect, socket.upgradeTLS). One handler
// object per listener and per TLS side, shared by every connection: each Bun socket's `data` is
// its BunConn, and a callback whose socket is no longer its BunConn's current one (the raw socket
// under TLS) is ignored. Client TLS is upgraded natively on the accepted socket (Bun's upgradeTLS
// with the server's side); node TLS checks the certificate as libpq's sslmode says.

import net from 'node:net';
import tls from 'node:tls';
import type { BackendTls } from '../backend/backend-tls.js';
import { bunApi, type BunApi, type BunHandlers, type BunSocket, type BunTlsOptions } from './bun-api.js';
import { BunConn } from './bun-conn.js';
import type { Conn, Input } from './conn.js';
import type { AcceptHandlers, ConnectHandlers, Listener, ListenOptions, ServerTls, Transport } from './transport.js';

/** Largest TLS record sent to clients (PostgreSQL's output buffer size; see node-transport.ts). */
const TLS_RECORD_BYTES = 8192;

type Sock = BunSocket<BunConn | null>;

/** The BunConn `s` currently carries, or null (a refused connection, a raw socket under TLS). */
function current(s: Sock): BunConn | null {
  const c = s.data;
  return c !== null && c !== undefined && c.sock === s ? c : null;
}

/**
 * Bytes read since the collector was last asked to run. Each read is a fresh buffer that Bun does
 * not count toward its collector's pressure, so a large COPY could grow the heap by hundreds of MB
 * of dead buffers before a collection: every GC_HINT_BYTES read, the collector is asked to run soon.
 */
let readSinceGcHint = 0;
const GC_HINT_BYTES = 64 * 1024 * 1024;

function noteRead(bytes: number): void {
  readSinceGcHint += bytes;
  if (readSinceGcHint < GC_HINT_BYTES) return;
  readSinceGcHint = 0;
  bunApi()?.gc(false);
}

/** Callbacks every connection shares once it has a BunConn. */
const CONN_HANDLERS: BunHandlers<BunConn | null> = {
  binaryType: 'buffer',
  data(s, chunk) {
    noteRead(chunk.length);
    current(s)?.onData(chunk);
  },
  drain(s) {
    current(s)?.onDrain();
  },
  end(s) {
    // The peer closed its side: close ours (Node's allowHalfOpen: false).
    if (current(s) !== null) s.end();
  },
  close(s) {
    current(s)?.onClose();
  },
  error(s, err) {
    current(s)?.onError(err);
  },
};

/** Refused at accept: the frame was written; what arrives is dropped, the socket cut in a second. */
function refuseSocket(s: Sock, frame: Buffer): void {
  s.data = null;
  s.write(frame);
  s.end();
  setTimeout(() => s.terminate(), 1000).unref();
}

function listen(bun: BunApi, host: string, port: number, h: AcceptHandlers, options: ListenOptions): Promise<Listener> {
  const handlers: BunHandlers<BunConn | null> = {
    ...CONN_HANDLERS,
    open(s) {
      const frame = h.refuse();
      if (frame !== null) return refuseSocket(s, frame);
      const c = new BunConn();
      c.attach(s);
      h.accept(c, c);
    },
  };
  // Shared (a worker of several): SO_REUSEPORT, so every worker binds the port and the kernel
  // balances new connections over them. Alone: an exclusive bind, so a port in use is an error.
  const server = bun.listen<BunConn | null>({ hostname: host, port, socket: handlers, reusePort: options.shared === true });
  return Promise.resolve({
    host: server.hostname,
    port: server.port,
    close: () => {
      server.stop(false);
      return Promise.resolve();
    },
  });
}

const SERVER_TLS_HANDLERS: BunHandlers<BunConn | null> = {
  ...CONN_HANDLERS,
  handshake(s) {
    // Clients send no certificate (none is asked for): the authorization result means nothing here.
    const c = current(s);
    if (c !== null) c.isHandshaking = false;
  },
};

function serverTls(certPem: Buffer, keyPem: Buffer): ServerTls {
  tls.createSecureContext({ cert: certPem, key: keyPem }); // throws at start-up on a bad pair, as on Node.js
  const options: BunTlsOptions = { cert: certPem.toString('utf8'), key: keyPem.toString('utf8'), isServer: true };
  return {
    upgrade(conn: Conn): Conn {
      const c = conn as BunConn;
      const raw = c.sock!;
      c.isHandshaking = true;
      c.maxWriteBytes = TLS_RECORD_BYTES;
      const [, secure] = raw.upgradeTLS({ tls: options, socket: SERVER_TLS_HANDLERS, data: c });
      c.sock = secure;
      return c;
    },
  };
}

function connect(bun: BunApi, host: string, port: number, h: ConnectHandlers): { conn: Conn; input: Input } {
  const c = new BunConn();
  c.onOpen = () => h.connected();
  const handlers: BunHandlers<BunConn | null> = {
    ...CONN_HANDLERS,
    open(s) {
      c.attach(s);
      if (!c.destroyed) c.onOpen?.();
    },
    connectError(_s, err) {
      c.onError(err);
    },
  };
  bun.connect<BunConn | null>({ hostname: host, port, socket: handlers, data: c }).catch((err: unknown) => {
    c.onError(err instanceof Error ? err : new Error(String(err)));
  });
  return { conn: c, input: c };
}

/** libpq's sslmode over what Bun's handshake reported: null when acceptable, else the reason. */
function checkServerCert(t: BackendTls, host: string, s: Sock, authorizationError: Error | null): Error | null {
  if (t.mode !== 'verify-ca' && t.mode !== 'verify-full') return null;
  const code = (authorizationError as { code?: string } | null)?.code;
  // Bun checks the name against serverName too; verify-ca trusts any name the CA signed.
  if (authorizationError !== null && code !== 'ERR_TLS_CERT_ALTNAME_INVALID') return authorizationError;
  if (t.mode === 'verify-ca') return null;
  const cert = s.getPeerCertificate?.();
  if (cert === null || cert === undefined) return new Error('the node sent no certificate');
  return tls.checkServerIdentity(host, cert as tls.PeerCertificate) ?? null;
}

function upgradeClient(conn: Conn, _input: Input, t: BackendTls, host: string, secured: () => void): Conn {
  const c = conn as BunConn;
  const options: BunTlsOptions = { rejectUnauthorized: false };
  if (!net.isIP(host)) options.serverName = host;
  if (t.ca !== null) options.ca = t.ca;
  const handlers: BunHandlers<BunConn | null> = {
    ...CONN_HANDLERS,
    handshake(s, _success, authorizationError) {
      if (current(s) === null) return;
      c.isHandshaking = false;
      const err = checkServerCert(t, host, s, authorizationError);
      if (err === null) return secured();
      c.onError(err);
      c.destroy();
    },
  };
  c.isHandshaking = true;
  const [, secure] = c.sock!.upgradeTLS({ tls: options, socket: handlers, data: c });
  c.sock = secure;
  return c;
}

/** The Bun transport; call only under Bun (runtime.ts checks). */
export function bunTransport(): Transport {
  const bun = bunApi();
  if (bun === null) throw new Error('the Bun transport needs the Bun runtime');
  return {
    runtime: 'bun',
    version: bun.version,
    listen: (host, port, h, options) => listen(bun, host, port, h, options ?? {}),
    connect: (host, port, h) => connect(bun, host, port, h),
    serverTls,
    upgradeClient,
  };
}
