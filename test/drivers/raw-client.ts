// A minimal wire-protocol client for what drivers will not do on purpose: stop in the middle of a
// COPY, or vanish (socket destroyed, no Terminate) at a chosen moment. Logs in as a user with
// cleartext password auth (plainuser), reads server messages with pg-protocol's parser.

import net from 'node:net';
import { parse, serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';

export class RawClient {
  readonly socket: net.Socket;
  private readonly inbox: BackendMessage[] = [];
  private wake: (() => void) | null = null;
  private closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    void parse(socket, (msg) => {
      this.inbox.push(msg);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, user: string, password: string, extra: Record<string, string> = {}): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawClient(socket);
    socket.write(serialize.startup({ user, database: 'app', ...extra }));
    const auth = await c.next();
    if (auth.name === 'authenticationCleartextPassword') socket.write(serialize.password(password));
    else if (auth.name !== 'authenticationOk') throw new Error(`unexpected auth message ${auth.name}`);
    await c.until('readyForQuery');
    return c;
  }

  /** The next server message (waits up to timeoutMs). */
  async next(timeoutMs = 15_000): Promise<BackendMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for a server message');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
      this.wake = null;
    }
    const m = this.inbox.shift()!;
    const e = m as unknown as { severity?: string; message?: string };
    if (m.name === 'error' && e.severity === 'FATAL') throw Object.assign(new Error(`FATAL: ${e.message ?? ''}`), m);
    return m;
  }

  /** Messages up to and including the first named `name`; an ErrorResponse before it throws unless allowed. */
  async until(name: string, opts: { allowErrors?: boolean } = {}): Promise<BackendMessage[]> {
    const got: BackendMessage[] = [];
    for (;;) {
      const m = await this.next();
      got.push(m);
      if (m.name === name) return got;
      if (m.name === 'error' && opts.allowErrors !== true) throw m;
    }
  }

  send(buf: Buffer): void {
    this.socket.write(buf);
  }

  /** Simple query to completion; returns the messages. */
  async query(sql: string): Promise<BackendMessage[]> {
    this.send(serialize.query(sql));
    return this.until('readyForQuery');
  }

  /** Gone without a word: no Terminate, the socket reset. */
  vanish(): void {
    this.socket.resetAndDestroy();
  }
}
