// Bench support (soak): a burst of hostile clients against Meridian's port — malformed frames before
// and after login. Each client sends its bytes, waits for the server to close (bounded) and is then
// destroyed; nothing here keeps a socket. Post-login frames log in first as a `trust` user (no
// password exchange) or a cleartext-password user, so the malformed frame reaches the session's
// own decoder.
import net from 'node:net';

/** One hostile act: what it is called and the bytes it sends (after login when `afterLogin`). */
export interface BadFrame {
  name: string;
  afterLogin: boolean;
  bytes: () => Buffer;
}

function frame(code: string, body: Buffer, lengthOverride?: number): Buffer {
  const head = Buffer.alloc(5);
  head.write(code, 0, 'latin1');
  head.writeInt32BE(lengthOverride ?? body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const SYNC = frame('S', Buffer.alloc(0));

function startup(params: Record<string, string>, version = 196608): Buffer {
  const kv = Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0${v}\0`, 'utf8')]);
  const body = Buffer.concat([...kv, Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(version, 4);
  return Buffer.concat([head, body]);
}

export const BAD_FRAMES: readonly BadFrame[] = [
  // before login
  { name: 'garbage', afterLogin: false, bytes: () => Buffer.from(Array.from({ length: 64 }, () => Math.floor(Math.random() * 256))) },
  { name: 'startup length 1 GB', afterLogin: false, bytes: () => Buffer.from([0x40, 0, 0, 0, 0, 3, 0, 0]) },
  { name: 'startup length 3', afterLogin: false, bytes: () => Buffer.from([0, 0, 0, 3, 0, 3, 0, 0]) },
  { name: 'unknown protocol version', afterLogin: false, bytes: () => startup({ user: 'soak_fuzz' }, 0x00090009) },
  {
    name: 'startup without terminator',
    afterLogin: false,
    bytes: () => {
      const b = startup({ user: 'soak_fuzz', database: 'bench' });
      return b.subarray(0, b.length - 1);
    },
  },
  {
    name: 'SSLRequest then garbage',
    afterLogin: false,
    bytes: () => Buffer.concat([Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), Buffer.from('not a handshake')]),
  },
  // after login
  { name: 'Parse name without NUL', afterLogin: true, bytes: () => Buffer.concat([frame('P', Buffer.from('x')), SYNC]) },
  { name: 'Bind claiming 65535 parameters', afterLogin: true, bytes: () => Buffer.concat([frame('B', Buffer.from([0, 0, 0, 0, 0xff, 0xff])), SYNC]) },
  { name: 'Query without NUL', afterLogin: true, bytes: () => frame('Q', Buffer.from('select 1')) },
  { name: 'frame length 2', afterLogin: true, bytes: () => frame('Q', Buffer.alloc(0), 2) },
  { name: 'unknown message type', afterLogin: true, bytes: () => Buffer.concat([frame('z', Buffer.from('??')), SYNC]) },
  { name: 'Describe of an unknown kind', afterLogin: true, bytes: () => Buffer.concat([frame('D', Buffer.from('Zx\0')), SYNC]) },
  { name: 'frame length 60 MB, then close', afterLogin: true, bytes: () => frame('Q', Buffer.alloc(0), 60 << 20) },
];

function passwordMessage(password: string): Buffer {
  return frame('p', Buffer.from(`${password}\0`, 'utf8'));
}

/** Reads until the server's first ReadyForQuery ('Z') after a trust or cleartext login; false on close/timeout. */
function login(socket: net.Socket, user: string, database: string, timeoutMs: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = Buffer.alloc(0);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      let pos = 0;
      while (pos + 5 <= seen.length) {
        const code = String.fromCharCode(seen[pos]!);
        const len = seen.readInt32BE(pos + 1);
        if (pos + 1 + len > seen.length) break;
        if (code === 'E') return done(false);
        if (code === 'Z') return done(true);
        // AuthenticationCleartextPassword (a `password` user): answer with the password.
        if (code === 'R' && len >= 8 && seen.readInt32BE(pos + 5) === 3) socket.write(passwordMessage(password ?? ''));
        pos += 1 + len;
      }
    };
    socket.on('data', onData);
    socket.once('close', () => done(false));
    socket.write(startup({ user, database }));
  });
}

export interface BurstResult {
  clients: number;
  /** Post-login acts whose login failed (so the frame was not sent). */
  loginFailures: number;
  /** Sockets the server closed itself within the wait (the rest we closed). */
  closedByServer: number;
  ms: number;
}

/** One hostile client: connect, (log in), send, wait for the server to close (bounded), destroy. */
async function oneClient(
  port: number,
  act: BadFrame,
  user: string,
  database: string,
  password?: string,
): Promise<{ loginFailed: boolean; closedByServer: boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    if (act.afterLogin && !(await login(socket, user, database, 5000, password))) return { loginFailed: true, closedByServer: false };
    const closed = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 2000);
      socket.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    socket.on('data', () => {}); // read (and drop) whatever the server answers
    socket.write(act.bytes());
    return { loginFailed: false, closedByServer: await closed };
  } catch {
    return { loginFailed: act.afterLogin, closedByServer: false };
  } finally {
    socket.destroy();
  }
}

export interface BurstOptions {
  count: number;
  concurrency?: number;
  frames?: readonly BadFrame[];
  /** For a user with cleartext password auth (trust users need none). */
  password?: string;
}

/** `count` hostile clients, `concurrency` at a time, cycling through BAD_FRAMES (or the given ones). */
export async function badClientBurst(port: number, user: string, database: string, opts: BurstOptions): Promise<BurstResult> {
  const { count, concurrency = 10, frames = BAD_FRAMES, password } = opts;
  const t0 = Date.now();
  let next = 0;
  let loginFailures = 0;
  let closedByServer = 0;
  const worker = async () => {
    while (next < count) {
      const act = frames[next++ % frames.length]!;
      const r = await oneClient(port, act, user, database, password);
      if (r.loginFailed) loginFailures++;
      if (r.closedByServer) closedByServer++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { clients: count, loginFailures, closedByServer, ms: Date.now() - t0 };
}
