// Test support: an in-process TCP relay that puts a node "far away". Listens on 127.0.0.1 (port 0 by
// default) and forwards each connection to the target, holding every chunk `delayMs` (+ uniform
// 0..jitterMs) in EACH direction, so a round trip gains 2 × delay. Order is kept (a chunk is never
// released before the one ahead of it), half-close is forwarded after the same delay, Nagle is off on
// both sides, and reading pauses while more than 8 MiB wait for a slow side (backpressure).
// Faults: blackhole (connections stay open, bytes vanish) and refuse (nothing listens; live
// connections are reset). Ported from TESTBED's latency-relay.js, plus the faults.
//
// It models latency, not bandwidth: each side talks to a fast local TCP peer.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface RelayOptions {
  targetHost: string;
  targetPort: number;
  /** One-way delay in ms (RTT grows by twice this). */
  delayMs: number;
  /** Extra uniform random delay 0..jitterMs per chunk (order still kept). */
  jitterMs?: number;
  /** Listen port (default 0: any free port). */
  port?: number;
}

export interface Relay {
  readonly host: string;
  readonly port: number;
  /** Changes the delay for chunks read from now on (existing connections too). */
  setDelay(delayMs: number, jitterMs?: number): void;
  /**
   * on: new and existing connections stay open but every byte (and FIN) either way is dropped, as if
   * the network ate it. off: connections that lost bytes are destroyed (their streams are corrupt);
   * the others carry on.
   */
  blackhole(on: boolean): void;
  /** on: stop listening (new connects get ECONNREFUSED) and reset every open connection. off: listen again on the same port. */
  refuse(on: boolean): Promise<void>;
  /** Open relayed connections. */
  connectionCount(): number;
  close(): Promise<void>;
}

const HIGH_WATER = 8 << 20;
const LOW_WATER = 2 << 20;

interface Shared {
  delayMs: number;
  jitterMs: number;
  blackholed: boolean;
}

type Item = { due: number; chunk: Buffer | null }; // chunk null = end (FIN)

/** One direction src → dst of one connection: a FIFO of chunks with due times. */
class DelayedPipe {
  private readonly queue: Item[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastDue = 0;
  private queuedBytes = 0;
  private paused = false;
  lostBytes = false;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly shared: Shared,
  ) {
    src.on('data', (c: Buffer) => this.push(c));
    src.on('end', () => this.push(null));
    dst.on('drain', () => this.maybeResume());
  }

  private push(chunk: Buffer | null): void {
    if (this.shared.blackholed) {
      this.lostBytes = true;
      return;
    }
    const d = this.shared.delayMs + (this.shared.jitterMs ? Math.random() * this.shared.jitterMs : 0);
    if (d <= 0 && this.queue.length === 0) {
      this.deliver(chunk);
      this.maybePause();
      return;
    }
    // never overtake the chunk ahead, even when the delay was lowered or jitter drew less
    this.lastDue = Math.max(performance.now() + d, this.lastDue);
    this.queue.push({ due: this.lastDue, chunk });
    if (chunk) this.queuedBytes += chunk.length;
    this.maybePause();
    this.schedule();
  }

  private deliver(chunk: Buffer | null): void {
    if (this.dst.destroyed || this.dst.writableEnded) return;
    if (chunk) this.dst.write(chunk);
    else this.dst.end();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer || !head) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, head.due - performance.now()));
  }

  private flush(): void {
    this.timer = null;
    const now = performance.now() + 0.5; // timers have 1 ms resolution
    while (this.queue[0] && this.queue[0].due <= now) {
      const item = this.queue.shift() as Item;
      if (item.chunk) this.queuedBytes -= item.chunk.length;
      this.deliver(item.chunk);
    }
    this.maybeResume();
    this.schedule();
  }

  private pending(): number {
    return this.queuedBytes + this.dst.writableLength;
  }

  private maybePause(): void {
    if (!this.paused && this.pending() > HIGH_WATER) {
      this.paused = true;
      this.src.pause();
    }
  }

  private maybeResume(): void {
    if (this.paused && this.pending() < LOW_WATER) {
      this.paused = false;
      this.src.resume();
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }
}

class RelayedConnection {
  private readonly pipes: DelayedPipe[] = [];
  readonly upstream: Socket | null;

  constructor(
    readonly client: Socket,
    shared: Shared,
    opts: RelayOptions,
    private readonly onGone: (c: RelayedConnection) => void,
  ) {
    client.setNoDelay(true);
    client.on('error', () => this.destroy());
    client.on('close', () => this.closed());
    if (shared.blackholed) {
      // accepted into the void: no upstream, every byte dropped, destroyed when the blackhole lifts
      this.upstream = null;
      client.on('data', () => {});
      client.on('end', () => {});
      return;
    }
    const up = connect({ host: opts.targetHost, port: opts.targetPort, allowHalfOpen: true });
    this.upstream = up;
    up.setNoDelay(true);
    up.on('error', () => this.destroy());
    up.on('close', () => this.closed());
    this.pipes.push(new DelayedPipe(client, up, shared), new DelayedPipe(up, client, shared));
  }

  lostBytes(): boolean {
    return this.upstream === null || this.pipes.some((p) => p.lostBytes);
  }

  /** Fully closed once both sockets are; a socket error tears down both. */
  private closed(): void {
    if (this.client.destroyed && (!this.upstream || this.upstream.destroyed)) {
      for (const p of this.pipes) p.dispose();
      this.onGone(this);
    }
  }

  destroy(reset = false): void {
    for (const s of [this.client, this.upstream]) {
      if (!s || s.destroyed) continue;
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
  }
}

/** Starts a relay on 127.0.0.1 (see Relay). */
export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const shared: Shared = { delayMs: opts.delayMs, jitterMs: opts.jitterMs ?? 0, blackholed: false };
  const conns = new Set<RelayedConnection>();
  const host = '127.0.0.1';
  let server: Server | null = null;
  let port = opts.port ?? 0;

  const listen = async (): Promise<void> => {
    const s = createServer({ allowHalfOpen: true }, (client) => {
      conns.add(new RelayedConnection(client, shared, opts, (c) => conns.delete(c)));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen({ port, host }, () => resolve());
    });
    const addr = s.address();
    if (addr && typeof addr === 'object') port = addr.port;
    server = s;
  };
  const unlisten = async (): Promise<void> => {
    const s = server;
    server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();

  return {
    host,
    get port() {
      return port;
    },
    setDelay(delayMs, jitterMs = 0) {
      shared.delayMs = delayMs;
      shared.jitterMs = jitterMs;
    },
    blackhole(on) {
      shared.blackholed = on;
      if (!on) for (const c of conns) if (c.lostBytes()) c.destroy();
    },
    async refuse(on) {
      if (on) {
        const closing = unlisten();
        for (const c of conns) c.destroy(true);
        await closing;
        return;
      }
      if (server) return;
      // the port was ours a moment ago; retry briefly in case a socket still holds it
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          await listen();
          return;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    connectionCount: () => conns.size,
    async close() {
      const closing = unlisten();
      for (const c of conns) c.destroy();
      await closing;
    },
  };
}
