// Reading sockets without a new buffer per read (the hot path allocates nothing per read).
//
// A net.Socket read the usual way gets a fresh 64 KiB allocation from Node for every read, wrapped
// in an ArrayBuffer and pushed through a Readable stream. With Node's `onread` option the socket
// reads into a buffer we own instead: each socket keeps one buffer, reused read after read, and
// its chunk handler is called directly. The handler sees a view of that buffer that is valid only
// until the same socket's next read. Whoever keeps a view longer (a request waiting for a
// backend, a write the kernel did not take at once) calls keepReadBuffer() before the handler
// returns: the socket then reads into a fresh buffer from its next read on, and the kept one
// belongs to the views that hold it (the garbage collector frees it with them).
//
// TLS sockets are read through 'data' events (TLS decrypts into buffers of its own); Input hides
// the difference from the session and backend code.

import net from 'node:net';

export type ChunkHandler = (chunk: Buffer) => void;

const READ_BUFFER_BYTES = 64 * 1024;

/** Set during a read callback when something keeps a view of the chunk past it. */
let isKept = false;

/** The chunk being handled (or any view of it) is kept past this read callback. */
export function keepReadBuffer(): void {
  isKept = true;
}

/** The reusable read buffer of one socket and the handler its chunks go to. */
export class ReadSlot {
  handler: ChunkHandler | null = null;
  private buf: Buffer | null = null;
  /** Pass as the `onread` option of net.connect / new net.Socket. */
  readonly onread: net.OnReadOpts;

  constructor() {
    this.onread = { buffer: () => this.nextBuffer(), callback: (n: number, buf: Uint8Array) => this.onRead(n, buf as Buffer) };
  }

  /** Node asks after every read (and once at the start) which buffer to read into next. */
  private nextBuffer(): Buffer {
    const wasKept = isKept;
    isKept = false;
    if (this.buf !== null && !wasKept) return this.buf;
    this.buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    return this.buf;
  }

  /** Returns true: keep reading (false would stop; pausing goes through socket.pause()). */
  private onRead(n: number, buf: Buffer): boolean {
    isKept = false;
    const h = this.handler;
    if (h !== null) h(buf.subarray(0, n));
    return true;
  }
}

/**
 * Takes over the handle of a socket accepted with `pauseOnConnect` (not read from yet) and
 * returns a socket that reads through `slot`. Node has no public way to give an accepted socket
 * the `onread` option; when its internals differ from what this expects, the original socket is
 * returned and the caller reads it through 'data' events (see Input).
 */
export function adoptAccepted(accepted: net.Socket, slot: ReadSlot): net.Socket | null {
  const raw = accepted as unknown as { _handle?: { useUserBuffer?: unknown } | null; _server?: unknown; server?: unknown };
  const handle = raw._handle;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function') return null;
  raw._handle = null;
  const socket = new net.Socket({ handle, onread: slot.onread } as unknown as net.SocketConstructorOpts);
  // The server counts its connections (close() waits for them): the new socket ends this one.
  const adopted = socket as unknown as { _server?: unknown; server?: unknown };
  adopted._server = raw._server;
  adopted.server = raw.server;
  raw._server = null;
  raw.server = null;
  return socket;
}

/** Where a connection's chunks come from: its ReadSlot, or 'data' events of a (TLS) socket. */
export class Input {
  socket: net.Socket;
  private slot: ReadSlot | null;
  private listener: ChunkHandler | null = null;

  constructor(socket: net.Socket, slot: ReadSlot | null) {
    this.socket = socket;
    this.slot = slot;
  }

  /** Sends every chunk to `handler` from now on (null: drop them). */
  set(handler: ChunkHandler | null): void {
    if (this.slot !== null) {
      this.slot.handler = handler;
      return;
    }
    if (this.listener !== null) this.socket.removeListener('data', this.listener);
    this.listener = handler;
    if (handler !== null) this.socket.on('data', handler);
  }

  /** Reads from `socket` (a TLS socket wrapping the old one) through 'data' events from now on. */
  switchTo(socket: net.Socket): void {
    this.set(null);
    this.slot = null;
    this.socket = socket;
  }
}
