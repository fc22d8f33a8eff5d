// A tiny growable frame builder for the frames Meridian itself composes (rare path: startup,
// errors, admin result sets, rewritten Parse/Bind). Not used for forwarded bytes.

export class FrameWriter {
  private buf: Buffer;
  private pos = 0;
  private frameStart = -1;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Starts a typed frame; code 0 starts an untyped (startup-style) frame. */
  begin(code: number): this {
    if (code !== 0) {
      this.ensure(1);
      this.buf[this.pos++] = code;
    }
    this.frameStart = this.pos;
    this.ensure(4);
    this.pos += 4;
    return this;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  cstring(s: string): this {
    const n = Buffer.byteLength(s);
    this.ensure(n + 1);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
    this.buf[this.pos++] = 0;
    return this;
  }

  bytes(b: Buffer, start = 0, end = b.length): this {
    const n = end - start;
    this.ensure(n);
    b.copy(this.buf, this.pos, start, end);
    this.pos += n;
    return this;
  }

  /** Ends the current frame by writing its length. */
  end(): this {
    this.buf.writeInt32BE(this.pos - this.frameStart, this.frameStart);
    this.frameStart = -1;
    return this;
  }

  /** Returns a copy of everything written and resets the writer. */
  flush(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}
