// The startup phase of a client connection: SSLRequest (TLS upgrade), GSSENCRequest (refused),
// CancelRequest, StartupMessage (protocol 3.0 only), authentication, then the startup reply
// (AuthenticationOk, ParameterStatus set, Meridian's own BackendKeyData, ReadyForQuery).
// Any violation gets 08P01 FATAL and a close; nothing here throws into the process.

import { decideResidency, type ResidencySession } from '../config/residency-match.js';
import { Errors, type MeridianError } from '../errors.js';
import { parseOnOff } from '../classify/meridian-setting.js';
import type { Conn, Input } from '../net/conn.js';
import type { ServerTls } from '../net/transport.js';
import { FrontendCode, MAX_STARTUP_PACKET, TxStatus } from '../protocol/codes.js';
import { AUTH_OK, SSL_NO, SSL_YES, backendKeyData, parameterStatus, readyForQuery } from '../protocol/encode.js';
import { DecodeResult, type FrameSink } from '../protocol/frame-decoder.js';
import { decodeStartup, parseStartupOptions } from '../protocol/startup.js';
import type { RouteHint } from '../classify/types.js';
import { ClientAuth, type AuthResult, type AuthStep } from './client-auth.js';
import { residencyDenialError, sessionRouting } from './context.js';
import type { Session } from './session.js';
import { Phase } from './session-phase.js';
import { SessionState } from './session-state.js';

/** What a client may send while its authentication step is pending (a pipelined request or two). */
const MAX_HELD_BYTES = 1024 * 1024;

/** Startup keys that are not settings. */
const NOT_SETTINGS = new Set(['user', 'database', 'options', 'replication']);

export function parseRouteHint(v: string | undefined): RouteHint | null {
  if (v === undefined) return null;
  const t = v.trim().toLowerCase();
  if (t === 'master' || t === 'primary') return { route: 'master' };
  if (t === 'replica' || t === 'standby') return { route: 'replica' };
  if (t.startsWith('node=')) return { node: v.trim().slice(5) };
  return null;
}

/** The bytes start with a whole Terminate message ('X', length 4). */
function isTerminate(b: Buffer): boolean {
  return b.length >= 5 && b[0] === FrontendCode.Terminate && b.readInt32BE(1) === 4;
}

export class StartupHandler implements FrameSink {
  private readonly s: Session;
  private socket: Conn;
  private readonly input: Input;
  private pending: Buffer | null = null;
  /** Login succeeded: what arrives until the session begins is kept in `pending`, in order. */
  private isAuthenticated = false;
  private isTls = false;
  private auth: ClientAuth | null = null;
  /** Frames that arrived while an authentication step was pending (null: none is). */
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  private params: ReadonlyMap<string, string> = new Map();
  private readonly tls: ServerTls | null;
  private readonly onData = (chunk: Buffer) => this.data(chunk);

  constructor(s: Session, input: Input, tls: ServerTls | null) {
    this.s = s;
    this.input = input;
    this.socket = s.socket;
    this.tls = tls;
    input.set(this.onData);
  }

  private fail(reason: string, err: MeridianError): void {
    this.input.set(null);
    this.s.close(reason, err);
  }

  private data(chunk: Buffer): void {
    try {
      this.takeData(chunk);
    } catch (e) {
      this.s.onHandlerError('startup', e);
    }
  }

  private takeData(chunk: Buffer): void {
    if (this.isAuthenticated) {
      // Pipelined behind the last authentication message, before the startup reply is out:
      // kept, and handled as requests once the session begins.
      this.keepPending(chunk);
      return;
    }
    if (this.auth !== null) {
      // Authentication messages are typed frames.
      const r = this.s.decoder.feed(chunk, this);
      if (r !== DecodeResult.Ok) {
        return this.fail('protocol violation', Errors.protocolViolation(`${this.s.decoder.describe(r)} during authentication`));
      }
      if (this.isAuthenticated) {
        // A partial request after the last authentication message stays in order behind the whole ones.
        const partial = this.s.decoder.takePartial();
        if (partial !== null) this.keepPending(partial);
      }
      return;
    }
    // Copied: the chunk may be a view of the socket's reused read buffer (see read-slot.ts).
    this.pending = this.pending === null ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    while (this.pending !== null && this.pending.length >= 4 && this.auth === null && !this.isAuthenticated) {
      if (this.pending[0] === FrontendCode.Terminate && this.pending.length < 5) return;
      if (isTerminate(this.pending)) {
        // A client that ends before its StartupMessage was sent (pg's end() while connecting
        // queues its Terminate ahead of it): a server logs a bad length and closes, sending nothing.
        this.input.set(null);
        return this.s.close('client terminated before startup');
      }
      const len = this.pending.readInt32BE(0);
      if (len < 8 || len > MAX_STARTUP_PACKET) {
        return this.fail('protocol violation', Errors.protocolViolation(`invalid startup packet length ${len}`));
      }
      if (this.pending.length < len) return;
      const packet = this.pending.subarray(0, len);
      const rest: Buffer | null = this.pending.length > len ? this.pending.subarray(len) : null;
      this.pending = rest;
      this.handlePacket(packet, len, rest);
    }
  }

  private handlePacket(packet: Buffer, len: number, rest: Buffer | null): void {
    const p = decodeStartup(packet, len);
    switch (p.kind) {
      case 'ssl':
        if (rest !== null) return this.fail('protocol violation', Errors.protocolViolation('data after SSLRequest before the TLS handshake'));
        if (this.tls === null || this.isTls) {
          this.socket.write(SSL_NO);
          return;
        }
        this.socket.write(SSL_YES);
        return this.upgrade();
      case 'gssenc':
        this.socket.write(SSL_NO);
        return;
      case 'cancel': {
        this.input.set(null);
        this.s.ctx.findSessionForCancel(p.pid, p.secret)?.cancelCurrent();
        this.s.close('cancel request');
        this.socket.destroy();
        return;
      }
      case 'unsupported':
        return this.fail(
          'unsupported protocol',
          Errors.unsupportedProtocol(`unsupported frontend protocol ${p.version >>> 16}.${p.version & 0xffff}: Meridian supports 3.0`),
        );
      case 'invalid':
        return this.fail('protocol violation', Errors.protocolViolation(p.reason));
      case 'startup':
        this.params = p.params;
        this.pending = null;
        return this.startAuth(rest);
    }
  }

  private upgrade(): void {
    const raw = this.socket;
    // The transport owns the handshake (and the TLS record size); chunks arrive decrypted.
    const secure = this.tls!.upgrade(raw, this.input);
    if (secure !== raw) secure.on('close', () => this.s.close('client disconnected during startup'));
    this.input.set(this.onData);
    this.socket = secure;
    this.s.socket = secure;
    this.isTls = true;
  }

  private startAuth(rest: Buffer | null): void {
    const cfg = this.s.ctx.cfg();
    const userName = this.params.get('user') ?? '';
    if (userName === '') return this.fail('no user', Errors.protocolViolation('no PostgreSQL user name specified in startup packet'));
    if (cfg.tls !== null && cfg.tls.mode === 'require' && !this.isTls) return this.fail('tls required', Errors.tlsRequired());
    this.auth = new ClientAuth(this.s.ctx, userName, this.socket.remoteAddress ?? '');
    this.s.out.socket = this.socket;
    this.answer(this.auth.start());
    // Bytes behind the StartupMessage: authentication messages, or (trust) the first requests.
    if (rest !== null && this.s.phase === Phase.Startup) this.takeData(rest);
  }

  /** Appends a copy (the chunk may be a view of the socket's reused read buffer). */
  private keepPending(chunk: Buffer): void {
    // Only an authenticated client gets here, and its socket is paused: at most what it had in
    // flight arrives. Bounded all the same, by what one request may hold.
    const held = this.pending === null ? 0 : this.pending.length;
    if (held + chunk.length > this.s.ctx.cfg().limits.maxRequestBytes) {
      return this.fail('protocol violation', Errors.protocolViolation('too much data sent before the startup reply'));
    }
    this.pending = this.pending === null ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
  }

  onFrame(code: number, buf: Buffer, start: number, end: number): void {
    if (this.isAuthenticated) {
      this.keepPending(buf.subarray(start, end));
      return;
    }
    if (this.held !== null) return this.hold(buf.subarray(start, end));
    if (this.auth === null) return;
    if (code !== FrontendCode.Password) {
      if (code === FrontendCode.Terminate) return this.s.close('client terminated during authentication');
      return this.fail('protocol violation', Errors.protocolViolation(`expected password response, got message type 0x${code.toString(16)}`));
    }
    this.answer(this.auth.onMessage(buf.subarray(start + 5, end)));
  }

  /**
   * A step answered now is replied to now. One that waits (auth.query, a verifier still deriving,
   * auth.failure_delay) holds the frames that arrive meanwhile, copied, and replays them in order
   * once it is answered; the session may have closed by then.
   */
  private answer(step: AuthResult): void {
    if (!(step instanceof Promise)) return this.reply(step);
    this.held = [];
    this.heldBytes = 0;
    step.then(
      (st) => this.s.guard('login', () => this.settle(st)),
      () => this.s.guard('login', () => this.settle({ kind: 'fail' })),
    );
  }

  private settle(step: AuthStep): void {
    const held = this.held ?? [];
    this.held = null;
    if (this.s.phase !== Phase.Startup || this.auth === null) return;
    this.reply(step);
    for (let i = 0; i < held.length; i++) {
      const again = this.held as Buffer[] | null; // set again when a replayed message's step waits too
      if (again !== null) return void again.push(...held.slice(i));
      const f = held[i]!;
      this.onFrame(f[0]!, f, 0, f.length);
    }
    // A partial request behind them waits in the decoder: it goes after them, in order.
    if (this.isAuthenticated) {
      const partial = this.s.decoder.takePartial();
      if (partial !== null) this.keepPending(partial);
    }
  }

  private hold(frame: Buffer): void {
    this.heldBytes += frame.length;
    if (this.heldBytes > MAX_HELD_BYTES) return this.fail('protocol violation', Errors.protocolViolation('too much data sent during authentication'));
    this.held!.push(Buffer.from(frame));
  }

  private reply(step: AuthStep): void {
    if (step.kind === 'fail') {
      this.auth = null;
      return this.fail('authentication failed', Errors.authFailed(this.params.get('user') ?? ''));
    }
    for (const f of step.frames) this.socket.write(f);
    if (step.kind === 'ok') {
      this.auth = null;
      this.isAuthenticated = true;
      this.socket.pause(); // the startup reply is prepared; what still arrives is kept in order
      this.finish().catch((e: unknown) => this.s.onHandlerError('startup reply', e));
    }
  }

  /** Authenticated: build session state, fetch server parameters, send the startup reply. */
  private async finish(): Promise<void> {
    const s = this.s;
    const cfg = s.ctx.cfg();
    const params = this.params;
    const userName = params.get('user')!;
    const database = params.get('database') || userName;
    const options = parseStartupOptions(params.get('options') ?? '');
    const settings = new Map<string, string>();
    // As the server applies them: `options` first, then the packet's own parameters (which win).
    // Protocol options (_pq_.*) are not settings: Meridian speaks protocol 3.0 without extensions.
    for (const [k, v] of options) settings.set(k, v);
    for (const [k, v] of params) if (!NOT_SETTINGS.has(k) && !k.startsWith('_pq_.')) settings.set(k.toLowerCase(), v);
    const meridian = new Map<string, string>();
    for (const [k, v] of [...settings]) {
      if (k.startsWith('meridian.')) {
        meridian.set(k.slice(9), v);
        settings.delete(k);
      }
    }
    s.ident = {
      user: userName,
      database,
      applicationName: settings.get('application_name') ?? '',
      tenant: meridian.get('tenant') ?? null,
      clientRegion: meridian.get('region') ?? null,
      remoteAddress: this.socket.remoteAddress ?? '',
    };
    if (s.ctx.isShuttingDown()) return this.fail('shutting down', Errors.shuttingDown());
    const refused = s.ctx.admitLogin(s, database === cfg.admin.database && cfg.admin.users.includes(userName));
    if (refused !== null) return this.fail('too many clients', refused);
    if (database === cfg.admin.database) {
      if (!cfg.admin.users.includes(userName)) {
        return this.fail('admin refused', Errors.authFailed(userName));
      }
      s.isAdmin = true;
      s.state = new SessionState(s.id, new Map(), null);
      return this.sendStartupReply(
        new Map([
          ['server_version', '15.0 (Meridian admin)'],
          ['client_encoding', 'UTF8'],
          ['server_encoding', 'UTF8'],
          ['DateStyle', 'ISO, MDY'],
          ['integer_datetimes', 'on'],
          ['standard_conforming_strings', 'on'],
          ['application_name', s.ident.applicationName],
        ]),
      );
    }
    // Residency is decided before any backend is opened (serverParamsFor routes with it), and
    // again if a reload landed while the startup parameters were fetched.
    const who: ResidencySession = {
      user: userName,
      database,
      applicationName: s.ident.applicationName,
      tenant: s.ident.tenant,
      clientAddress: s.ident.remoteAddress,
    };
    const admitted = (c: typeof cfg): boolean => {
      const verdict = decideResidency(c, who);
      if (verdict.ok) {
        s.routing = sessionRouting(verdict.residency, s.ident.clientRegion);
        return true;
      }
      s.ctx.metrics.residencyDenied(verdict.denial);
      s.log.info({ user: userName, tenant: s.ident.tenant, denial: verdict.denial }, 'residency refused login');
      this.fail('residency refused login', residencyDenialError(verdict));
      return false;
    };
    if (!admitted(cfg)) return;
    s.state = new SessionState(s.id, settings, parseRouteHint(meridian.get('route')));
    const ryw = meridian.get('read_your_writes');
    if (ryw !== undefined) {
      const on = parseOnOff(ryw);
      if (on === null)
        return this.fail('startup refused', Errors.invalidParameter(`invalid value for parameter "meridian.read_your_writes": "${ryw}" (expected on or off)`));
      s.state.readYourWrites = s.state.startupReadYourWrites = on;
    }
    const token = meridian.get('causal_token');
    if (token !== undefined && token !== '') {
      const problem = s.causalTokenProblem(token);
      if (problem !== null) return this.fail('startup refused', Errors.invalidParameter(`invalid value for parameter "meridian.causal_token": ${problem}`));
      s.state.causalToken = s.state.startupCausalToken = token.trim();
    }
    if (cfg.pool.mode === 'session') {
      s.sessionBackends = new Map();
      s.state.isSessionPooled = true;
    }
    // The parameters as a direct server would report them for these settings (server.ts).
    const server = await s.ctx.serverParamsFor(s);
    if (!(server instanceof Map)) return this.fail('startup failed', server);
    if (s.ctx.cfg() !== cfg && !admitted(s.ctx.cfg())) return;
    const shown = new Map(server);
    this.sendStartupReply(shown);
  }

  private sendStartupReply(shown: Map<string, string>): void {
    const s = this.s;
    if (s.phase !== Phase.Startup) return; // closed meanwhile
    const frames: Buffer[] = [AUTH_OK];
    for (const [k, v] of shown) frames.push(parameterStatus(k, v));
    s.ctx.registerSession(s); // first: it may draw the secret again to keep the cancel key unique
    frames.push(backendKeyData(s.cancelPid, s.secret), readyForQuery(TxStatus.Idle));
    this.socket.write(Buffer.concat(frames));
    s.beginRequests(this.socket);
    this.input.set(s.onClientDataBound);
    this.socket.resume();
    if (this.pending !== null && this.pending.length > 0) {
      const extra = this.pending;
      this.pending = null;
      s.onClientData(extra);
    }
  }
}
