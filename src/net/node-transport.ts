// The transport on node:net and node:tls. Connections are Node's own sockets, handed out as Conn
// without a wrapper; accepted and outgoing plaintext sockets read into a reused buffer (ReadSlot,
// the `onread` path), TLS sockets through 'data' events (read-slot.ts's Input hides which).

import net from 'node:net';
import tls from 'node:tls';
import { tlsOptions, type BackendTls } from '../backend/backend-tls.js';
import type { Conn, Input as ChunkInput } from './conn.js';
import { Input, ReadSlot, adoptAccepted } from './read-slot.js';
import type { AcceptHandlers, ConnectHandlers, Listener, ServerTls, Transport } from './transport.js';

/** Largest TLS record Meridian sends to clients (PostgreSQL's own output buffer size). */
export const TLS_RECORD_BYTES = 8192;

/** Written once, what the client sends is read and dropped, destroyed a second later. */
function refuseSocket(socket: net.Socket, frame: Buffer): void {
  socket.on('error', () => socket.destroy());
  socket.on('data', () => {});
  socket.setTimeout(1000, () => socket.destroy());
  socket.end(frame);
  socket.resume();
}

function listen(host: string, port: number, h: AcceptHandlers): Promise<Listener> {
  // pauseOnConnect: nothing is read before the socket has its own read buffer.
  const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
    const frame = h.refuse();
    if (frame !== null) return refuseSocket(accepted, frame);
    const slot = new ReadSlot();
    const adopted = adoptAccepted(accepted, slot);
    const socket = adopted ?? accepted;
    h.accept(socket, new Input(socket, adopted === null ? null : slot));
    if (adopted === null && !socket.destroyed) socket.resume(); // accepted paused; a new socket reads by itself
  });
  return new Promise<Listener>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      const addr = server.address() as net.AddressInfo;
      resolve({ host: addr.address, port: addr.port, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

function serverTls(certPem: Buffer, keyPem: Buffer): ServerTls {
  const secureContext = tls.createSecureContext({ cert: certPem, key: keyPem });
  return {
    upgrade(conn: Conn, input: ChunkInput): Conn {
      const secure = new tls.TLSSocket(conn as net.Socket, { isServer: true, secureContext });
      // TLS records of at most 8 kB, as PostgreSQL sends them. libpq keeps 8 kB free in its input
      // buffer before each read, so it always takes a whole record of this size. A 16 kB record
      // (Node's default) may be read in part: the rest waits decrypted inside OpenSSL, the socket
      // is not readable, and a driver that waits on the socket itself (psycopg 3, asyncio loops)
      // waits forever at the end of a large result.
      secure.setMaxSendFragment(TLS_RECORD_BYTES);
      secure.on('error', () => secure.destroy());
      (input as Input).switchTo(secure);
      return secure;
    },
  };
}

function connect(host: string, port: number, h: ConnectHandlers): { conn: Conn; input: ChunkInput } {
  const slot = new ReadSlot();
  const socket = net.connect({ host, port, noDelay: true, onread: slot.onread });
  socket.once('connect', () => h.connected());
  return { conn: socket, input: new Input(socket, slot) };
}

function upgradeClient(conn: Conn, input: ChunkInput, t: BackendTls, host: string, secured: () => void): Conn {
  const socket = tls.connect({ socket: conn as net.Socket, ...tlsOptions(t, host) });
  (input as Input).switchTo(socket);
  socket.once('secureConnect', secured);
  return socket;
}

export const nodeTransport: Transport = {
  runtime: 'node',
  version: process.versions.node,
  listen,
  connect,
  serverTls,
  upgradeClient,
};
