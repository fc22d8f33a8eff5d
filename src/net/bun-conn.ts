// One connection on Bun's native sockets, with the members of Conn (and Input: chunks go straight
// from Bun's data callback to the one handler). Bun's write() takes what the kernel takes and
// returns the count; the rest is queued here and written on Bun's drain, and write() returns
// false meanwhile, as Node's does past its high-water mark. cork() gathers writes into one.
// After a TLS upgrade the same BunConn carries the TLS socket: the raw socket's callbacks (its
// ciphertext, its close) are ignored from then on.

import { EventEmitter } from 'node:events';
import type { BunSocket } from './bun-api.js';
import type { ChunkHandler, Conn, Input } from './conn.js';

/** Queued bytes past which write() asks the caller to wait for 'drain' (Node's default). */
const HIGH_WATER_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);
/** How long a destroyed connection may take to close before it is reset. */
const DESTROY_GRACE_MS = 1000;

export class BunConn extends EventEmitter implements Conn, Input {
  /** The socket carrying this connection (the TLS one after an upgrade); null while connecting. */
  sock: BunSocket<BunConn | null> | null = null;
  remoteAddress: string | undefined = undefined;
  destroyed = false;
  bytesWritten = 0;
  writableLength = 0;
  /** Largest write handed to the socket at once (TLS: one record each; 0: no limit). */
  maxWriteBytes = 0;
  /** Runs when Bun.connect's socket opens. */
  onOpen: (() => void) | null = null;
  /** A TLS handshake is running: getFinished() says so (the janitor cuts such a connection). */
  isHandshaking = false;
  private handler: ChunkHandler | null = null;
  private queue: Uint8Array[] = [];
  private corks = 0;
  private needsDrain = false;
  private isEnding = false;
  private isPaused = false;
  private isClosed = false;
  private wantsNoDelay = true;

  attach(sock: BunSocket<BunConn | null>): void {
    this.sock = sock;
    sock.data = this;
    this.remoteAddress = sock.remoteAddress;
    if (this.destroyed) {
      sock.terminate();
      return;
    }
    sock.setNoDelay(this.wantsNoDelay);
    if (this.isPaused) sock.pause();
    if (this.queue.length > 0) this.flushQueue();
    if (this.isEnding && this.queue.length === 0) sock.end();
    else if (this.needsDrain && this.queue.length === 0) process.nextTick(this.drainedBound);
  }

  set(handler: ChunkHandler | null): void {
    this.handler = handler;
  }

  /** From Bun's data callback (a fresh buffer per read: views of it may be kept). */
  onData(chunk: Buffer): void {
    const h = this.handler;
    if (h !== null) h(chunk);
  }

  write(chunk: Uint8Array): boolean {
    if (this.destroyed || this.isClosed) return false;
    this.bytesWritten += chunk.length;
    if (this.corks > 0 || this.queue.length > 0 || this.sock === null) {
      this.queue.push(chunk);
      this.writableLength += chunk.length;
      if (this.writableLength < HIGH_WATER_BYTES) return true;
      this.needsDrain = true;
      return false;
    }
    const n = this.send(chunk);
    if (n >= chunk.length) return true;
    const rest = chunk.subarray(n);
    this.queue.push(rest);
    this.writableLength += rest.length;
    this.needsDrain = true;
    return false;
  }

  /** Hands `chunk` to the socket (in record-sized pieces under TLS); returns the bytes taken. */
  private send(chunk: Uint8Array): number {
    const sock = this.sock!;
    const max = this.maxWriteBytes;
    if (max === 0 || chunk.length <= max) return Math.max(0, sock.write(chunk));
    let off = 0;
    while (off < chunk.length) {
      const piece = chunk.subarray(off, Math.min(chunk.length, off + max));
      const n = sock.write(piece);
      if (n > 0) off += n;
      if (n < piece.length) break;
    }
    return off;
  }

  /** Writes what is queued, as one buffer; keeps what the kernel did not take. */
  private flushQueue(): void {
    if (this.sock === null || this.queue.length === 0) return;
    const all = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
    const n = this.send(all);
    if (n >= all.length) {
      this.queue = [];
      this.writableLength = 0;
    } else {
      this.queue = [all.subarray(n)];
      this.writableLength = all.length - n;
    }
  }

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    if (this.corks === 0) return;
    this.corks--;
    if (this.corks === 0) {
      this.flushQueue();
      if (this.queue.length > 0) this.needsDrain = true;
      // Corked writes past the high-water mark returned false, and the kernel took them all:
      // Bun calls no drain (nothing is left), so the waiting caller hears it here, as on Node.js.
      else if (this.needsDrain) process.nextTick(this.drainedBound);
    }
  }

  private readonly drainedBound = (): void => this.drained();

  /** Nothing queued any more: 'drain' for a caller told to wait. */
  private drained(): void {
    if (this.queue.length > 0 || !this.needsDrain || this.isClosed) return;
    this.needsDrain = false;
    this.emit('drain');
  }

  /** From Bun's drain callback: the socket takes writes again. */
  onDrain(): void {
    this.flushQueue();
    if (this.queue.length > 0) return;
    if (this.isEnding) {
      this.sock?.end();
      return;
    }
    this.drained();
  }

  end(chunk?: Uint8Array): this {
    if (this.destroyed || this.isEnding) return this;
    if (chunk !== undefined) this.write(chunk);
    this.isEnding = true;
    if (this.sock !== null && this.queue.length === 0 && this.corks === 0) this.sock.end();
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.queue = [];
    this.writableLength = 0;
    const sock = this.sock;
    if (sock === null) {
      process.nextTick(() => this.onClose());
      return this;
    }
    // As destroy() on Node.js: what is queued is dropped and the socket closed, with a FIN (Bun's
    // terminate() resets the connection, which a client reading its cancel request's answer sees
    // as ECONNRESET). A peer that keeps the socket open (TLS) is reset a second later.
    sock.end();
    setTimeout(() => {
      if (!this.isClosed) sock.terminate();
    }, DESTROY_GRACE_MS).unref();
    return this;
  }

  pause(): this {
    this.isPaused = true;
    this.sock?.pause();
    return this;
  }

  resume(): this {
    this.isPaused = false;
    this.sock?.resume();
    return this;
  }

  setNoDelay(noDelay = true): this {
    this.wantsNoDelay = noDelay;
    this.sock?.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    this.sock?.setKeepAlive(enable, initialDelayMs);
    return this;
  }

  getFinished(): Buffer | undefined {
    return this.isHandshaking ? undefined : EMPTY;
  }

  /** From Bun's error (or connectError) callback: an 'error' event if anyone listens, then close. */
  onError(err: Error): void {
    if (this.isClosed) return;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    if (this.sock === null) this.onClose();
  }

  /** From Bun's close callback (once; later ones are ignored). */
  onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.destroyed = true;
    this.queue = [];
    this.writableLength = 0;
    this.handler = null;
    this.emit('close');
  }
}
