// One server connection to a node, wrapped for relaying: its socket, frame decoder, the op
// queue of requests in flight, its transaction status, and the session state Meridian knows is
// applied on it (SET values, Meridian-named prepared statements, SQL-level prepared statements).
// It routes every server frame to its current owner (a session) and never decides anything:
// closing, pooling and routing belong to the pool and the session.

import type { Conn } from '../net/conn.js';
import { TxStatus } from '../protocol/codes.js';
import { DecodeResult, FrameDecoder, type FrameSink } from '../protocol/frame-decoder.js';
import { NO_STARTUP, startupBooks, type BackendStartup } from './backend-startup.js';
import { OpQueue } from './op-queue.js';
import { SpanWriter } from './span-writer.js';
import type { ConnectedServer } from './server-connect.js';

/** Who receives a backend's frames while it is checked out. */
export interface BackendOwner {
  onServerFrame(backend: Backend, code: number, buf: Buffer, start: number, end: number): void;
  /** End of one socket read: flush what the frames produced. */
  onServerChunkEnd(backend: Backend): void;
  onServerLost(backend: Backend, reason: string): void;
}

let nextBackendId = 1;

export class Backend implements FrameSink {
  readonly id: number;
  readonly node: string;
  readonly user: string;
  readonly database: string;
  readonly socket: Conn;
  readonly serverPid: number;
  readonly serverSecret: number;
  readonly serverParams: Map<string, string>;
  readonly createdAtMs: number;
  lastUsedAtMs: number;
  owner: BackendOwner | null = null;
  readonly ops = new OpQueue();
  readonly out = new SpanWriter();
  txStatus: number = TxStatus.Idle;
  isClosed = false;
  closeReason: string | null = null;
  /** A FATAL the server sent before closing: "SQLSTATE: message", for logs and Meridian's own errors. */
  fatalMessage: string | null = null;
  /** … and the ErrorResponse itself, as the server sent it (relayed to the client: session-failure.ts). */
  fatalFrame: Buffer | null = null;
  /** Settings sent in its StartupMessage (session pooling: a client's); RESET returns to them. */
  startup: BackendStartup = NO_STARTUP;
  /** Session settings applied here: lower-case name → the SQL that set it. */
  readonly settings = new Map<string, string>();
  /** True when settings on the server may differ from `settings` (full reset before reuse). */
  isStateUncertain = false;
  /**
   * A request ran here whose effect on session state Meridian cannot see (DO, CALL, a volatile
   * user function: set_config, temp tables, advisory locks, LISTEN …). The pool resets the backend
   * (pool.reset_query, else DISCARD ALL) before any other session gets it.
   */
  needsReset = false;
  /** The session this backend was last handed to (0: none since it was opened or reset). */
  lastSessionId = 0;
  /** The pool's credential generation when this backend was opened (pool.ts recycle). */
  generation = 0;
  /** SessionState.signature() of the settings applied here, or null when not known exactly. */
  settingsSignature: string | null = null;
  /** Session id + state version last synced here: skips the diff when unchanged. */
  syncedSessionId = 0;
  syncedStateVersion = -1;
  /** Meridian-named prepared statements present on the server, oldest first (LRU). */
  readonly prepared = new Map<string, true>();
  /** SQL-level prepared statements present on the server: name → PREPARE text. */
  readonly sqlPrepared = new Map<string, string>();
  /** Identity of the unnamed statement last parsed here ("sid:seq"), or null. */
  unnamedKey: string | null = null;
  private readonly decoder: FrameDecoder;
  private onDataBound: (chunk: Buffer) => void;

  constructor(node: string, user: string, database: string, conn: ConnectedServer, nowMs: number) {
    this.id = nextBackendId++;
    this.node = node;
    this.user = user;
    this.database = database;
    this.socket = conn.socket;
    this.serverPid = conn.pid;
    this.serverSecret = conn.secret;
    this.serverParams = conn.params;
    this.createdAtMs = nowMs;
    this.lastUsedAtMs = nowMs;
    this.decoder = new FrameDecoder(1024 * 1024 * 1024 + 5);
    this.out.socket = conn.socket;
    this.onDataBound = (chunk) => this.onData(chunk);
    conn.input.set(this.onDataBound);
    this.socket.on('error', (err) => this.lost(`socket error: ${err.message}`));
    this.socket.on('close', () => this.lost('server closed the connection'));
  }

  /** True when the backend can go back to the pool: nothing in flight, no transaction. */
  get isClean(): boolean {
    return !this.isClosed && this.ops.isEmpty && this.txStatus === TxStatus.Idle && !this.decoder.hasPartial;
  }

  onFrame(code: number, buf: Buffer, start: number, end: number): void {
    const owner = this.owner;
    if (owner !== null) owner.onServerFrame(this, code, buf, start, end);
    // Frames while idle in the pool (a NOTICE, a ParameterStatus after reload, a FATAL on
    // admin shutdown) need no client; a FATAL is followed by the socket closing.
  }

  private onData(chunk: Buffer): void {
    // The owner at the start of the chunk must flush what it relayed even if the chunk's last
    // ReadyForQuery released the backend (owner is null by then).
    const first = this.owner;
    const r = this.decoder.feed(chunk, this);
    if (r !== DecodeResult.Ok) {
      this.lost('malformed frame from server');
      return;
    }
    if (first !== null) first.onServerChunkEnd(this);
    const now = this.owner;
    if (now !== null && now !== first) now.onServerChunkEnd(this);
  }

  /**
   * The node stopped answering (a hang the probes saw): the connection counts as lost now, as if it
   * had died, so the session holding it hears it (08006, or a read sent again) rather than wait.
   */
  discard(reason: string): void {
    this.lost(reason);
  }

  private lost(reason: string): void {
    if (this.isClosed) return;
    if (this.fatalMessage !== null) reason = `server said ${this.fatalMessage}`;
    this.isClosed = true;
    this.closeReason = reason;
    this.socket.destroy();
    const owner = this.owner;
    if (owner !== null) owner.onServerLost(this, reason);
    this.onLost?.(this, reason);
  }

  /** The pool that opened this backend; a backend always goes back (or closes) through it. */
  pool: { release(b: Backend): void } | null = null;

  /** Set by the pool: called once when the connection dies by itself. */
  onLost: ((b: Backend, reason: string) => void) | null = null;

  /** Writes what the owner queued; returns false under backpressure. */
  flush(): boolean {
    return this.out.flush();
  }

  /** Marks a Meridian-named statement as most recently used. */
  touchPrepared(name: string): boolean {
    if (!this.prepared.has(name)) return false;
    this.prepared.delete(name);
    this.prepared.set(name, true);
    return true;
  }

  /** Oldest prepared statement name (LRU victim), or undefined. */
  oldestPrepared(): string | undefined {
    return this.prepared.keys().next().value;
  }

  /** Forgets everything Meridian believed was on the server (after DISCARD ALL, RESET). */
  forgetSessionState(): void {
    startupBooks(this.startup, this.settings);
    this.settingsSignature = null;
    this.prepared.clear();
    this.sqlPrepared.clear();
    this.unnamedKey = null;
    this.syncedSessionId = 0;
    this.syncedStateVersion = -1;
  }

  /** The single exit: closes the socket once, with a reason. */
  close(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = reason;
    this.owner = null;
    // Terminate politely; destroy if it does not go within a second.
    try {
      this.socket.end(TERMINATE);
    } catch {
      /* socket already gone */
    }
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.onLost?.(this, reason);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);
