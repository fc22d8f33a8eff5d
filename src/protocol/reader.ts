// Reads fields out of one frame body. One reused instance per connection: call reset() with the
// frame's bounds, then read in order. Pure; no allocation except for strings asked for.

export class FrameReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;

  /** Positions the reader after the 5-byte header of the typed frame at [start, end). */
  reset(buf: Buffer, start: number, end: number, headerBytes = 5): this {
    this.buf = buf;
    this.pos = start + headerBytes;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  int8(): number {
    if (this.pos + 1 > this.end) throw new RangeError('frame too short');
    return this.buf[this.pos++]!;
  }

  int16(): number {
    if (this.pos + 2 > this.end) throw new RangeError('frame too short');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    if (this.pos + 4 > this.end) throw new RangeError('frame too short');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Index of the NUL ending the C string at pos (throws if none inside the frame). */
  cstringEnd(): number {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new RangeError('unterminated string in frame');
    return nul;
  }

  cstring(): string {
    const nul = this.cstringEnd();
    const s = this.buf.toString('utf8', this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  skipCstring(): void {
    this.pos = this.cstringEnd() + 1;
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.end) throw new RangeError('frame too short');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}
