// Batches what one read produces for one socket into as few writes as possible: contiguous
// byte ranges of the same chunk merge into one span (one write per run of bytes, not one per
// message), and several parts go out corked as one writev. Reports backpressure through the
// return value of flush().
// A write the kernel does not take at once keeps the read buffer its spans point into.

import type { Conn } from '../net/conn.js';
import { keepReadBuffer } from '../net/read-slot.js';

/** Sees every frame before it is queued (transaction replay's digest); returns the offset from which the range is written. */
export interface WriteTap {
  pass(buf: Buffer, start: number, end: number): number;
}

export class SpanWriter {
  socket: Conn | null = null;
  private spanBuf: Buffer | null = null;
  private spanStart = 0;
  private spanEnd = 0;
  /** Parts [0, count) wait to be written; the array is reused, never truncated (hot-path rule 3). */
  private parts: (Buffer | null)[] = [];
  private count = 0;
  /** Total bytes handed to the socket (for stats). */
  bytesOut = 0;
  /** Flushes that wrote something: nothing pending was sent while this stays the same. */
  flushes = 0;
  /** Null unless the session records its transactions for replay. */
  tap: WriteTap | null = null;

  /** Adds buf[start, end) — merged with the previous span when contiguous. */
  span(buf: Buffer, start: number, end: number): void {
    if (this.tap !== null) {
      start = this.tap.pass(buf, start, end);
      if (start >= end) return;
    }
    if (this.spanBuf === buf && this.spanEnd === start) {
      this.spanEnd = end;
      return;
    }
    this.closeSpan();
    this.spanBuf = buf;
    this.spanStart = start;
    this.spanEnd = end;
  }

  /** Adds a frame Meridian composed (or a copy); keeps order with spans. */
  frame(buf: Buffer): void {
    if (this.tap !== null) {
      const from = this.tap.pass(buf, 0, buf.length);
      if (from >= buf.length) return;
      if (from > 0) buf = buf.subarray(from);
    }
    this.closeSpan();
    this.add(buf);
  }

  get hasPending(): boolean {
    return this.spanBuf !== null || this.count > 0;
  }

  private add(buf: Buffer): void {
    if (this.count < this.parts.length) this.parts[this.count] = buf;
    else this.parts.push(buf);
    this.count++;
  }

  private closeSpan(): void {
    const b = this.spanBuf;
    if (b === null) return;
    this.add(this.spanStart === 0 && this.spanEnd === b.length ? b : b.subarray(this.spanStart, this.spanEnd));
    this.spanBuf = null;
  }

  /** Forgets the written (or dropped) parts without keeping their buffers alive. */
  private reset(): void {
    const parts = this.parts;
    for (let i = 0; i < this.count; i++) parts[i] = null;
    this.count = 0;
  }

  /** Writes everything pending; returns false when the socket asked us to wait for 'drain'. */
  flush(): boolean {
    this.closeSpan();
    const parts = this.parts;
    const n = this.count;
    if (n === 0) return true;
    this.flushes++;
    const socket = this.socket;
    if (socket === null || socket.destroyed) {
      this.reset();
      return true;
    }
    let ok = true;
    if (n === 1) {
      this.bytesOut += parts[0]!.length;
      ok = socket.write(parts[0]!);
    } else {
      socket.cork();
      for (let i = 0; i < n; i++) {
        this.bytesOut += parts[i]!.length;
        ok = socket.write(parts[i]!) && ok;
      }
      socket.uncork();
    }
    this.reset();
    // Not all taken by the kernel: the socket holds views of the read buffer they came from.
    if (socket.writableLength > 0) keepReadBuffer();
    return ok;
  }

  /** Drops anything pending (the peer is gone). */
  discard(): void {
    this.spanBuf = null;
    this.reset();
  }
}
