// A queue of client frames as (code, buf, start, end) in parallel arrays: the request being
// collected, frames held while a dispatch is in progress, the request kept for a read retry.
// Frames are views of socket chunks (never reused by Node), so no copy is needed.

export class FrameList {
  codes: number[] = [];
  bufs: Buffer[] = [];
  starts: number[] = [];
  ends: number[] = [];
  head = 0;
  bytes = 0;

  get length(): number {
    return this.codes.length - this.head;
  }

  push(code: number, buf: Buffer, start: number, end: number): void {
    this.codes.push(code);
    this.bufs.push(buf);
    this.starts.push(start);
    this.ends.push(end);
    this.bytes += end - start;
  }

  /** Drops the oldest frame. */
  shift(): void {
    this.bytes -= this.ends[this.head]! - this.starts[this.head]!;
    this.head++;
    if (this.head === this.codes.length) this.clear();
  }

  clear(): void {
    this.codes.length = 0;
    this.bufs.length = 0;
    this.starts.length = 0;
    this.ends.length = 0;
    this.head = 0;
    this.bytes = 0;
  }
}
