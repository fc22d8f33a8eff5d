// Incremental decoder for typed frames (1-byte code + int32 length), used in both directions.
// Pure: no IO, no per-message objects. It hands each complete frame to the sink as
// (code, buf, start, end) where buf[start] is the code byte and end is exclusive. A frame that
// lies wholly inside the chunk is a view of the chunk; only a frame that straddles chunks is
// copied into a carry buffer (postgres.js style), so the sink may see `buf !== chunk`.

export interface FrameSink {
  onFrame(code: number, buf: Buffer, start: number, end: number): void;
}

export const enum DecodeResult {
  Ok = 0,
  TooLarge = 1, // declared length above the limit
  BadLength = 2, // declared length < 4
}

export class FrameDecoder {
  maxFrameBytes: number;
  /** Bytes of a partial frame kept across chunks (header included). */
  private carry: Buffer | null = null;
  private carryLen = 0;
  /** Declared length of the carried frame + 1 (whole frame size), or 0 while the header is incomplete. */
  private carryNeed = 0;
  /** Declared length of the last rejected frame, for error messages. */
  lastBadLength = 0;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** True while a partial frame is buffered. */
  get hasPartial(): boolean {
    return this.carryLen > 0;
  }

  /** What was wrong with the header feed() rejected with `r` (for a protocol-violation message). */
  describe(r: DecodeResult): string {
    return r === DecodeResult.TooLarge
      ? `message of ${this.lastBadLength} bytes exceeds ${this.maxFrameBytes}`
      : `invalid message length ${this.lastBadLength}`;
  }

  /** Takes the bytes of a partial frame out of the decoder (a copy), leaving it empty. */
  takePartial(): Buffer | null {
    if (this.carryLen === 0) return null;
    const bytes = Buffer.from(this.carry!.subarray(0, this.carryLen));
    this.reset();
    return bytes;
  }

  reset(): void {
    this.carry = null;
    this.carryLen = 0;
    this.carryNeed = 0;
  }

  /**
   * Feed one chunk; calls sink.onFrame for every complete frame in order. Returns a DecodeResult;
   * after an error the decoder must not be fed again (the connection is to be closed).
   */
  feed(chunk: Buffer, sink: FrameSink): DecodeResult {
    let pos = 0;
    const len = chunk.length;
    if (this.carryLen > 0) {
      pos = this.fillCarry(chunk, sink);
      if (pos < 0) return -pos as DecodeResult;
      if (this.carryLen > 0) return DecodeResult.Ok; // chunk consumed, frame still partial
    }
    while (pos < len) {
      if (len - pos < 5) {
        this.startCarry(chunk, pos, len, 0);
        return DecodeResult.Ok;
      }
      const bodyLen = chunk.readInt32BE(pos + 1);
      if (bodyLen < 4) return this.bad(DecodeResult.BadLength, bodyLen);
      if (bodyLen > this.maxFrameBytes) return this.bad(DecodeResult.TooLarge, bodyLen);
      const end = pos + 1 + bodyLen;
      if (end > len) {
        this.startCarry(chunk, pos, len, bodyLen + 1);
        return DecodeResult.Ok;
      }
      sink.onFrame(chunk[pos]!, chunk, pos, end);
      pos = end;
    }
    return DecodeResult.Ok;
  }

  private bad(result: DecodeResult, declared: number): DecodeResult {
    this.lastBadLength = declared;
    this.reset();
    return result;
  }

  private startCarry(chunk: Buffer, from: number, to: number, need: number): void {
    // Room for what arrived, not for what the header claims: a client that announces a large
    // frame and sends it slowly (or never) costs only the bytes it really sent.
    const have = to - from;
    if (this.carry === null || this.carry.length < have) this.carry = Buffer.allocUnsafe(Math.max(have, 64));
    chunk.copy(this.carry, 0, from, to);
    this.carryLen = have;
    this.carryNeed = need;
  }

  /** Grows the carry to hold `size` bytes, doubling (never past the frame's size) so a big frame costs O(log n) copies. */
  private growCarry(size: number): void {
    const carry = this.carry!;
    if (carry.length >= size) return;
    const grown = Buffer.allocUnsafe(Math.min(this.carryNeed, Math.max(size, carry.length * 2)));
    carry.copy(grown, 0, 0, this.carryLen);
    this.carry = grown;
  }

  /** Completes the carried frame from the chunk; returns the next chunk position or -DecodeResult. */
  private fillCarry(chunk: Buffer, sink: FrameSink): number {
    let pos = 0;
    if (this.carryNeed === 0) {
      const want = 5 - this.carryLen;
      const take = Math.min(want, chunk.length);
      chunk.copy(this.carry!, this.carryLen, 0, take);
      this.carryLen += take;
      pos = take;
      if (this.carryLen < 5) return pos;
      const bodyLen = this.carry!.readInt32BE(1);
      if (bodyLen < 4) return -this.bad(DecodeResult.BadLength, bodyLen);
      if (bodyLen > this.maxFrameBytes) return -this.bad(DecodeResult.TooLarge, bodyLen);
      this.carryNeed = bodyLen + 1;
    }
    const take = Math.min(this.carryNeed - this.carryLen, chunk.length - pos);
    this.growCarry(this.carryLen + take);
    chunk.copy(this.carry!, this.carryLen, pos, pos + take);
    this.carryLen += take;
    pos += take;
    if (this.carryLen === this.carryNeed) {
      const frame = this.carry!;
      const frameLen = this.carryNeed;
      // The sink may keep a reference to the frame (it is a view), so the carry is not reused
      // at all: the next partial frame gets a fresh buffer.
      this.carry = null;
      this.carryLen = 0;
      this.carryNeed = 0;
      sink.onFrame(frame[0]!, frame, 0, frameLen);
    }
    return pos;
  }
}
