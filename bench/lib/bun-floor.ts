// Bench reference target "bun-floor": the cheapest correct TCP relay on Bun's native sockets
// (Bun.listen / Bun.connect, not node:net), one server connection per client, no parsing, no pooling,
// no routing. It is the Bun counterpart of node-floor.ts: what it costs per transaction is the floor
// under any proxy whose data path runs on Bun.
//
// Each chunk read on one side is written on to the other at once. Bun's write returns how many bytes
// the kernel took: what it did not take is kept (in order) and the reading side is paused until the
// `drain` callback has written it all, so memory stays bounded by one read per direction. Bytes that
// arrive before the server connection is open wait the same way.
//
// usage: bun bench/lib/bun-floor.ts <listen port> <server port>
// (Bun runs TypeScript directly: see startBunFloor)

/** The part of Bun's socket API this relay uses (the repo does not depend on Bun's type package). */
interface BunSocket {
  data: Side;
  write(bytes: Uint8Array): number;
  pause(): void;
  resume(): void;
  end(): void;
  setNoDelay?(on: boolean): boolean;
}
interface SocketHandlers {
  open?(s: BunSocket): void;
  data(s: BunSocket, bytes: Uint8Array): void;
  drain(s: BunSocket): void;
  close(s: BunSocket): void;
  error?(s: BunSocket, err: Error): void;
}
interface BunApi {
  listen(o: { hostname: string; port: number; socket: SocketHandlers }): { port: number };
  connect(o: { hostname: string; port: number; data: Side; socket: SocketHandlers }): Promise<BunSocket>;
}

/** One end of a relayed pair: its socket (null while connecting) and the bytes still owed to it. */
interface Side {
  sock: BunSocket | null;
  peer: Side | null;
  queue: Uint8Array[];
  closed: boolean;
  /** The peer closed: end this socket once the queue is written. */
  endWhenFlushed: boolean;
}

const bun = (globalThis as unknown as { Bun?: BunApi }).Bun;
const [listenPort, serverPort] = process.argv.slice(2, 4).map(Number);
if (!bun || !listenPort || !serverPort) {
  console.error('usage: bun bench/lib/bun-floor.ts <listen port> <server port> (run by Bun)');
  process.exit(2);
}

function side(): Side {
  return { sock: null, peer: null, queue: [], closed: false, endWhenFlushed: false };
}

/** Writes what `to` is owed; true when nothing is left. */
function flush(to: Side): boolean {
  const s = to.sock;
  if (s === null || to.closed) return false;
  while (to.queue.length > 0) {
    const chunk = to.queue[0]!;
    const n = Math.max(0, s.write(chunk));
    if (n < chunk.byteLength) {
      to.queue[0] = chunk.subarray(n);
      return false;
    }
    to.queue.shift();
  }
  if (to.endWhenFlushed) s.end();
  return true;
}

/** Relays bytes read on `from` to its peer; pauses `from` while the peer owes bytes. */
function relay(from: Side, bytes: Uint8Array): void {
  const to = from.peer;
  if (to === null || to.closed) return;
  if (to.sock !== null && to.queue.length === 0) {
    const n = Math.max(0, to.sock.write(bytes));
    if (n === bytes.byteLength) return;
    bytes = bytes.subarray(n);
  }
  to.queue.push(bytes); // Bun hands each read its own buffer: keeping a view is safe
  from.sock?.pause();
}

function onDrain(s: BunSocket): void {
  const me = s.data;
  if (flush(me) && me.peer !== null && !me.peer.closed) me.peer.sock?.resume();
}

function onClose(s: BunSocket): void {
  const me = s.data;
  me.closed = true;
  const other = me.peer;
  if (other === null || other.closed) return;
  other.endWhenFlushed = true;
  if (other.sock !== null && other.queue.length === 0) other.sock.end();
}

const handlers = { data: (s: BunSocket, b: Uint8Array) => relay(s.data, b), drain: onDrain, close: onClose, error: () => {} };

bun.listen({
  hostname: '127.0.0.1',
  port: listenPort,
  socket: {
    ...handlers,
    open(client: BunSocket) {
      client.setNoDelay?.(true);
      const c = side();
      const b = side();
      c.sock = client;
      c.peer = b;
      b.peer = c;
      client.data = c;
      bun
        .connect({
          hostname: '127.0.0.1',
          port: serverPort,
          data: b,
          socket: {
            ...handlers,
            open(backend: BunSocket) {
              backend.setNoDelay?.(true);
              b.sock = backend;
              if (flush(b)) client.resume();
            },
          },
        })
        .catch(() => {
          b.closed = true;
          if (!c.closed) client.end();
        });
    },
  },
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
