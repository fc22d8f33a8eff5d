// Request/response over one IPC channel (a cluster worker's process.send, or the primary's
// worker.send): numbered requests, one pending entry each, a timeout on every one, and all of
// them failed at once when the other side goes away. Fire-and-forget messages pass through to
// the owner's handler. Owns no policy: what a request means is the caller's.

export interface IpcRequest {
  readonly t: 'req';
  readonly id: number;
  readonly op: string;
  readonly body: unknown;
}

export interface IpcResponse {
  readonly t: 'res';
  readonly id: number;
  readonly ok: boolean;
  readonly body: unknown;
}

export interface IpcEvent {
  readonly t: 'ev';
  readonly op: string;
  readonly body: unknown;
}

export type IpcMessage = IpcRequest | IpcResponse | IpcEvent;

export type RequestHandler = (op: string, body: unknown) => Promise<unknown>;
export type EventHandler = (op: string, body: unknown) => void;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

function isMessage(m: unknown): m is IpcMessage {
  if (m === null || typeof m !== 'object') return false;
  const t = (m as { t?: unknown }).t;
  return t === 'req' || t === 'res' || t === 'ev';
}

export class IpcChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private isClosed = false;

  constructor(
    private readonly send: (m: IpcMessage) => void,
    private readonly onRequest: RequestHandler,
    private readonly onEvent: EventHandler,
    /** An event handler that threw (a bug, or a malformed message): told here, never thrown into the process. */
    private readonly onFault: (err: unknown) => void = () => {},
  ) {}

  /** Feed every message the channel receives here (other messages, e.g. cluster's own, are ignored). */
  receive(m: unknown): void {
    if (!isMessage(m)) return;
    if (m.t === 'res') {
      const p = this.pending.get(m.id);
      if (p === undefined) return; // timed out already
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.body);
      else p.reject(new Error(typeof m.body === 'string' ? m.body : 'request failed'));
      return;
    }
    if (m.t === 'ev') {
      try {
        this.onEvent(m.op, m.body);
      } catch (err) {
        this.onFault(err);
      }
      return;
    }
    const id = m.id;
    // A handler that throws before returning its promise answers with the error like one that rejects.
    Promise.resolve()
      .then(() => this.onRequest(m.op, m.body))
      .then(
        (body) => this.post({ t: 'res', id, ok: true, body }),
        (err: unknown) => this.post({ t: 'res', id, ok: false, body: err instanceof Error ? err.message : String(err) }),
      );
  }

  request(op: string, body: unknown, timeoutMs: number): Promise<unknown> {
    if (this.isClosed) return Promise.reject(new Error('channel closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.post({ t: 'req', id, op, body })) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new Error('channel closed'));
      }
    });
  }

  emit(op: string, body: unknown): void {
    this.post({ t: 'ev', op, body });
  }

  /** The other side is gone: every request in flight fails now. */
  close(why: string): void {
    this.isClosed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(why));
      this.pending.delete(id);
    }
  }

  private post(m: IpcMessage): boolean {
    if (this.isClosed) return false;
    try {
      this.send(m); // a false return only means "queued": the message still goes
      return true;
    } catch {
      return false; // the channel closed under us; the exit handler fails what is pending
    }
  }
}
