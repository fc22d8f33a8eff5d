// A raw wire-protocol peer for attack tests: sends whatever bytes a test makes (malformed frames,
// lying lengths, pipelines it never reads) and parses what Meridian answers into typed messages.
// Unlike a driver it can stop reading (pause) and resume later, to test backpressure.

import net from 'node:net';

export interface WireMessage {
  code: string;
  body: Buffer;
}

export interface WireError {
  severity: string;
  code: string;
  message: string;
}

/** A typed frame: code, int32 length, body. */
export function frame(code: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const out = Buffer.alloc(5 + b.length);
  out[0] = code.charCodeAt(0);
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

export const query = (sql: string): Buffer => frame('Q', `${sql}\0`);
export const SYNC = frame('S');

export function startupPacket(params: Record<string, string>): Buffer {
  const body = Buffer.from(
    Object.entries(params)
      .map(([k, v]) => `${k}\0${v}\0`)
      .join('') + '\0',
  );
  const b = Buffer.alloc(8 + body.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(196608, 4);
  body.copy(b, 8);
  return b;
}

export function parseError(body: Buffer): WireError {
  const out: WireError = { severity: '', code: '', message: '' };
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const field = String.fromCharCode(body[pos]!);
    const nul = body.indexOf(0, pos + 1);
    if (nul < 0) break;
    const v = body.toString('utf8', pos + 1, nul);
    if (field === 'V') out.severity = v;
    else if (field === 'S' && out.severity === '') out.severity = v;
    else if (field === 'C') out.code = v;
    else if (field === 'M') out.message = v;
    pos = nul + 1;
  }
  return out;
}

export class Wire {
  readonly socket: net.Socket;
  readonly messages: WireMessage[] = [];
  isClosed = false;
  private carry = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.isClosed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.setNoDelay(true);
      s.once('connect', () => resolve(new Wire(s)));
      s.once('error', reject);
    });
  }

  /** Connects and logs in with cleartext password auth (or trust); resolves at the first ReadyForQuery. */
  static async login(port: number, user: string, password: string, extra: Record<string, string> = {}): Promise<Wire> {
    const w = await Wire.connect(port);
    w.send(startupPacket({ user, database: 'app', ...extra }));
    const auth = await w.until((m) => m.code === 'R' || m.code === 'E');
    if (auth.code === 'E') throw new Error(`login refused: ${parseError(auth.body).message}`);
    if (auth.body.readInt32BE(0) === 3) w.send(frame('p', `${password}\0`));
    await w.until((m) => m.code === 'Z' || m.code === 'E');
    const err = w.errors()[0];
    if (err !== undefined) throw new Error(`login failed: ${err.message}`);
    w.messages.length = 0;
    return w;
  }

  send(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  private onData(d: Buffer): void {
    let buf = this.carry.length > 0 ? Buffer.concat([this.carry, d]) : d;
    let pos = 0;
    while (buf.length - pos >= 5) {
      const len = buf.readInt32BE(pos + 1);
      if (buf.length - pos < 1 + len) break;
      this.messages.push({ code: String.fromCharCode(buf[pos]!), body: buf.subarray(pos + 5, pos + 1 + len) });
      pos += 1 + len;
    }
    buf = buf.subarray(pos);
    this.carry = Buffer.from(buf);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits for a message matching `pred` (searching all received so far); rejects on close or timeout. */
  async until(pred: (m: WireMessage) => boolean, timeoutMs = 10_000): Promise<WireMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.messages.find(pred);
      if (m !== undefined) return m;
      if (this.isClosed) throw new Error(`connection closed; received ${this.messages.map((x) => x.code).join('')}`);
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Waits until the connection is closed (true) or `timeoutMs` passed (false). */
  async closed(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isClosed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.isClosed;
  }

  count(code: string): number {
    let n = 0;
    for (const m of this.messages) if (m.code === code) n++;
    return n;
  }

  errors(): WireError[] {
    return this.messages.filter((m) => m.code === 'E').map((m) => parseError(m.body));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
