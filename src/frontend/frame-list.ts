// A queue of client frames as (code, buf, start, end) in parallel arrays: the request being
// collected, frames held while a dispatch is in progress, the request kept for a read retry.
// Frames are views of the client's read buffer, which the socket reuses for its next read
// (net/read-slot.ts): a list that outlives the read either copies its frames in (copyIn) or
// the session keeps the buffer (keepReadBuffer).

import { FrontendCode } from '../protocol/codes.js';

/** Requests up to this size are copied for a retry; larger ones keep their read buffer. */
const COPY_LIMIT = 16 * 1024;

export class FrameList {
  // Slots [head, tail) are in use. The arrays are never truncated: clear() only moves the
  // indexes (and drops buffer references), so a request costs no array growth (hot-path rule 3).
  codes: number[] = [];
  bufs: (Buffer | null)[] = [];
  starts: number[] = [];
  ends: number[] = [];
  head = 0;
  tail = 0;
  bytes = 0;
  /** Every frame is in a copy of the list's own (copyIn since the last push). */
  private isOwned = true;

  get length(): number {
    return this.tail - this.head;
  }

  /** Code of the newest frame, or 0 when empty. */
  get lastCode(): number {
    return this.tail > this.head ? this.codes[this.tail - 1]! : 0;
  }

  push(code: number, buf: Buffer, start: number, end: number): void {
    const i = this.tail++;
    if (i < this.codes.length) {
      this.codes[i] = code;
      this.bufs[i] = buf;
      this.starts[i] = start;
      this.ends[i] = end;
    } else {
      this.codes.push(code);
      this.bufs.push(buf);
      this.starts.push(start);
      this.ends.push(end);
    }
    this.bytes += end - start;
    this.isOwned = false;
  }

  /** Puts whole frames (each its own buffer) ahead of those in the list, in order. */
  prepend(codes: readonly number[], frames: readonly Buffer[]): void {
    const n = this.length;
    const old = {
      codes: this.codes.slice(this.head, this.tail),
      bufs: this.bufs.slice(this.head, this.tail),
      starts: this.starts.slice(this.head, this.tail),
      ends: this.ends.slice(this.head, this.tail),
    };
    const wasOwned = this.isOwned;
    this.clear();
    for (let i = 0; i < codes.length; i++) this.push(codes[i]!, frames[i]!, 0, frames[i]!.length);
    for (let i = 0; i < n; i++) this.push(old.codes[i]!, old.bufs[i]!, old.starts[i]!, old.ends[i]!);
    this.isOwned = wasOwned;
  }

  /** Drops the oldest frame. */
  shift(): void {
    if (this.head >= this.tail) return;
    this.bytes -= this.ends[this.head]! - this.starts[this.head]!;
    this.bufs[this.head] = null;
    this.head++;
    if (this.head === this.tail) this.clear();
  }

  clear(): void {
    const bufs = this.bufs;
    for (let i = this.head; i < this.tail; i++) bufs[i] = null; // no read buffer kept alive by a stale slot
    this.head = 0;
    this.tail = 0;
    this.bytes = 0;
    this.isOwned = true;
  }

  /** Frames a server answers with ReadyForQuery: Query, Sync, FunctionCall. */
  syncPoints(): number {
    let n = 0;
    for (let i = this.head; i < this.tail; i++) {
      const c = this.codes[i]!;
      if (c === FrontendCode.Query || c === FrontendCode.Sync || c === FrontendCode.FunctionCall) n++;
    }
    return n;
  }

  /**
   * Copies the frames into a buffer of their own, so they no longer depend on the read buffer
   * they arrived in. Returns false (nothing copied) above COPY_LIMIT bytes. The copy is never
   * reused: views of it may live on elsewhere (a pending write, the list a frame moved to).
   * Small sizes come from Node's buffer pool, so this is a memcpy, not an allocation. Frames
   * already copied (a waiting request copied at the end of each read) are not copied again.
   */
  copyIn(): boolean {
    if (this.isOwned) return true;
    const size = this.bytes;
    if (size > COPY_LIMIT) return false;
    const store = Buffer.allocUnsafe(size);
    let pos = 0;
    for (let i = this.head; i < this.tail; i++) {
      const start = this.starts[i]!;
      const end = this.ends[i]!;
      this.bufs[i]!.copy(store, pos, start, end);
      this.bufs[i] = store;
      this.starts[i] = pos;
      pos += end - start;
      this.ends[i] = pos;
    }
    this.isOwned = true;
    return true;
  }
}
