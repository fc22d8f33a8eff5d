// What the code above the transport sees of one connection (a client's or a node's), whichever
// runtime carries it. Node's net.Socket and tls.TLSSocket satisfy Conn as they are (the Node.js
// transport hands them out unwrapped: no indirection on the hot path); the Bun transport hands out
// a BunConn with the same members. Chunks arrive through an Input, not through Conn.

/** Receives each chunk read; the chunk may be a view of a reused buffer (see read-slot.ts). */
export type ChunkHandler = (chunk: Buffer) => void;

/** Where a connection's chunks go. One handler at a time; null drops them. */
export interface Input {
  set(handler: ChunkHandler | null): void;
}

/** One connection: write with backpressure, cork/uncork, pause/resume, end/destroy. */
export interface Conn {
  readonly remoteAddress?: string | undefined;
  readonly destroyed: boolean;
  /** Bytes accepted by write() that the kernel has not taken yet. */
  readonly writableLength: number;
  /** Bytes written so far (a progress counter). */
  readonly bytesWritten: number;
  /** False: the caller waits for 'drain' before writing more. */
  write(chunk: Uint8Array): boolean;
  /** Writes between cork() and uncork() leave as one. */
  cork(): void;
  uncork(): void;
  /** Closes once everything written has left; with `chunk`, writes it first. */
  end(): unknown;
  end(chunk: Uint8Array): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  setNoDelay(noDelay?: boolean): unknown;
  setKeepAlive(enable?: boolean, initialDelayMs?: number): unknown;
  on(event: 'drain' | 'close', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  once(event: 'drain' | 'close', fn: () => void): unknown;
  once(event: 'error', fn: (err: Error) => void): unknown;
  off(event: 'drain' | 'close', fn: () => void): unknown;
  off(event: 'error', fn: (err: Error) => void): unknown;
  removeAllListeners(event: 'close' | 'error' | 'drain'): unknown;
  /** TLS connections: undefined while the handshake runs. */
  getFinished?(): Buffer | undefined;
}
