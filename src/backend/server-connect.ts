// Opens one server connection to a node: TCP (+ optional TLS via SSLRequest), StartupMessage,
// authentication as the server asks (SCRAM-SHA-256, md5, cleartext, trust) within what
// cluster.auth_methods allows, then collects ParameterStatus and BackendKeyData until the first
// ReadyForQuery. Owns nothing after that: the caller wraps the socket in a Backend.
// A node is not trusted with our secrets: cleartext only over TLS unless configured otherwise,
// SCRAM iteration counts are capped and derived off the event loop, and a SCRAM login must end
// with the node's verified signature (SASLFinal) before AuthenticationOk counts.

import { serialize } from 'pg-protocol';
import type { Conn, Input } from '../net/conn.js';
import { transport } from '../net/runtime.js';
import { AuthCode, BackendCode } from '../protocol/codes.js';
import { DecodeResult, FrameDecoder, type FrameSink } from '../protocol/frame-decoder.js';
import { readErrorFields, readParameterStatus, type ServerError } from '../protocol/messages.js';
import { ScramClient, md5FromHash, md5Response, type BackendSecret, type ScramClientKeys } from '../auth/scram.js';
import { MAX_SERVER_ITERATIONS, deriveClientKeys } from '../auth/scram-keys.js';
import type { BackendAuthMethod } from '../config/types.js';
import { isTlsRequired, type BackendTls } from './backend-tls.js';

/** cluster.auth_methods' default: everything but cleartext over an unencrypted connection. */
export const DEFAULT_BACKEND_AUTH: ReadonlySet<BackendAuthMethod> = new Set(['scram-sha-256', 'md5', 'password', 'trust']);

export interface ConnectOptions {
  host: string;
  port: number;
  user: string;
  password: string | null;
  /** Used when password is null. */
  secret?: BackendSecret | null;
  /** What the node may ask for (cluster.auth_methods); default DEFAULT_BACKEND_AUTH. */
  authMethods?: ReadonlySet<BackendAuthMethod>;
  database: string;
  tls: BackendTls;
  timeoutMs: number;
  /** Extra startup parameters (application_name …). */
  params?: Record<string, string>;
}

export interface ConnectedServer {
  socket: Conn;
  /** Where the socket's chunks go. */
  input: Input;
  pid: number;
  secret: number;
  params: Map<string, string>;
}

/** Why a connection attempt failed; `serverError` is set when the server refused us itself. */
export class ConnectError extends Error {
  readonly serverError: ServerError | null;
  readonly isRefused: boolean; // TCP-level failure (refused, reset, timeout): passive health signal
  constructor(message: string, serverError: ServerError | null, isRefused: boolean) {
    super(message);
    this.serverError = serverError;
    this.isRefused = isRefused;
  }
}

/**
 * StartupMessage (protocol 3.0): user, database, then `params` as given. client_encoding is UTF8
 * unless `params` names one (a session-pooled client's own: its RESET returns there).
 */
export function startupMessage(user: string, database: string, params: Readonly<Record<string, string>>): Buffer {
  const pairs: [string, string][] = [
    ['user', user],
    ['database', database],
  ];
  let hasEncoding = false;
  for (const [k, v] of Object.entries(params)) {
    pairs.push([k, v]);
    if (k.toLowerCase() === 'client_encoding') hasEncoding = true;
  }
  if (!hasEncoding) pairs.push(['client_encoding', 'UTF8']);
  const parts: Buffer[] = [Buffer.alloc(8)];
  for (const [k, v] of pairs) parts.push(Buffer.from(`${k}\0${v}\0`, 'utf8'));
  parts.push(Buffer.alloc(1));
  const out = Buffer.concat(parts);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(0x30000, 4);
  return out;
}

export function connectServer(opts: ConnectOptions): Promise<ConnectedServer> {
  return new Promise((resolve, reject) => {
    const opened = transport.connect(opts.host, opts.port, { connected: () => onConnected() });
    let socket: Conn = opened.conn;
    const input: Input = opened.input;
    let settled = false;
    const timer = setTimeout(() => fail(new ConnectError(`connect timeout after ${opts.timeoutMs} ms`, null, true)), opts.timeoutMs);
    const fail = (err: ConnectError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    let onSocketError = (err: Error) => fail(new ConnectError(err.message, null, true));
    socket.on('error', onSocketError);
    socket.once('close', () => fail(new ConnectError('server closed the connection during startup', null, true)));

    const decoder = new FrameDecoder(64 * 1024 * 1024);
    const params = new Map<string, string>();
    let pid = 0;
    let secret = 0;
    let scram: ScramClient | null = null;
    let isScramVerified = false;
    let isTlsUp = false;
    let hasAsked = false; // the node asked for some password (else AuthenticationOk means trust)
    const allowed = opts.authMethods ?? DEFAULT_BACKEND_AUTH;

    const sink: FrameSink = {
      onFrame(code, buf, start, end) {
        if (settled) return;
        try {
          handle(code, buf, start, end);
        } catch (e) {
          fail(new ConnectError(`bad server message during startup: ${(e as Error).message}`, null, false));
        }
      },
    };

    function handle(code: number, buf: Buffer, start: number, end: number): void {
      switch (code) {
        case BackendCode.Authentication:
          return onAuth(buf.readInt32BE(start + 5), buf, start, end);
        case BackendCode.ParameterStatus: {
          const [k, v] = readParameterStatus(buf, start, end);
          params.set(k, v);
          return;
        }
        case BackendCode.BackendKeyData:
          pid = buf.readInt32BE(start + 5);
          secret = buf.readInt32BE(start + 9);
          return;
        case BackendCode.ErrorResponse: {
          const e = readErrorFields(buf, start, end);
          return fail(new ConnectError(e.message, e, false));
        }
        case BackendCode.ReadyForQuery: {
          settled = true;
          clearTimeout(timer);
          input.set(null);
          socket.off('error', onSocketError);
          socket.removeAllListeners('close');
          resolve({ socket, input, pid, secret, params });
          return;
        }
        default:
          return; // NoticeResponse, NegotiateProtocolVersion: ignore
      }
    }

    const refuse = (why: string) => fail(new ConnectError(`refusing to authenticate to the node: ${why}`, null, false));

    function onAuth(kind: number, buf: Buffer, start: number, end: number): void {
      const password = opts.password;
      const known = opts.secret ?? null;
      if (kind === AuthCode.Ok) {
        if (scram !== null && !isScramVerified) return refuse('AuthenticationOk before the SCRAM exchange completed (no verified server signature)');
        if (scram === null && !hasAsked && !allowed.has('trust'))
          return refuse('the node asked for no password (trust) and cluster.auth_methods does not list trust');
        return;
      }
      hasAsked = true;
      if (kind === AuthCode.CleartextPassword) {
        if (!allowed.has('insecure-password') && !(isTlsUp && allowed.has('password'))) {
          return refuse(
            isTlsUp || !allowed.has('password')
              ? 'the node asks for a cleartext password and cluster.auth_methods does not list password'
              : 'the node asks for a cleartext password over a connection without TLS (list insecure-password in cluster.auth_methods to allow it)',
          );
        }
        if (password === null) return noPassword();
        socket.write(serialize.password(password));
      } else if (kind === AuthCode.MD5Password) {
        if (!allowed.has('md5')) return refuse('the node asks for md5 and cluster.auth_methods does not list md5');
        const salt = buf.subarray(start + 9, start + 13);
        if (password !== null) socket.write(serialize.password(md5Response(opts.user, password, salt)));
        else if (known?.kind === 'md5') socket.write(serialize.password(md5FromHash(known.hash, salt)));
        else return noPassword();
      } else if (kind === AuthCode.SASL) {
        if (!allowed.has('scram-sha-256')) return refuse('the node asks for SCRAM and cluster.auth_methods does not list scram-sha-256');
        const mechs = buf.toString('utf8', start + 9, end).split('\0');
        if (!mechs.includes('SCRAM-SHA-256')) return fail(new ConnectError(`unsupported SASL mechanisms: ${mechs.join(' ')}`, null, false));
        if (password === null && known?.kind !== 'scram') return noPassword();
        scram = new ScramClient();
        socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.first()));
      } else if (kind === AuthCode.SASLContinue) {
        if (!scram) return fail(new ConnectError('unexpected SASLContinue', null, false));
        onSaslContinue(scram, buf.toString('utf8', start + 9, end));
      } else if (kind === AuthCode.SASLFinal) {
        if (!scram || !scram.verify(buf.toString('utf8', start + 9, end))) {
          return fail(new ConnectError('server SCRAM signature did not verify', null, false));
        }
        isScramVerified = true;
      } else {
        return fail(new ConnectError(`unsupported authentication request ${kind}`, null, false));
      }
    }
    const noPassword = () => fail(new ConnectError(`node asks for a password for user "${opts.user}" but none is configured`, null, false));

    /** Keys come from the cache, the thread pool (PBKDF2) or pass-through; the exchange resumes after. */
    function onSaslContinue(client: ScramClient, text: string): void {
      const first = client.parseServerFirst(text);
      if (first === null) return fail(new ConnectError('bad server message during startup: invalid SCRAM server-first-message', null, false));
      if (first.iterations > MAX_SERVER_ITERATIONS) {
        return refuse(`the node asks for ${first.iterations} SCRAM iterations (more than ${MAX_SERVER_ITERATIONS})`);
      }
      const known = opts.secret ?? null;
      let keys: Promise<ScramClientKeys>;
      if (opts.password !== null) {
        keys = deriveClientKeys(opts.password, first.salt, first.iterations);
      } else if (known?.kind === 'scram') {
        if (!known.secret.salt.equals(first.salt) || known.secret.iterations !== first.iterations) {
          return fail(
            new ConnectError(`SCRAM pass-through for user "${opts.user}": the node holds a different secret (salt or iteration count differ)`, null, false),
          );
        }
        keys = Promise.resolve({ clientKey: known.clientKey, serverKey: known.secret.serverKey });
      } else {
        return noPassword();
      }
      keys.then(
        (k) => {
          if (!settled) socket.write(serialize.sendSCRAMClientFinalMessage(client.final(k)));
        },
        (err: Error) => fail(new ConnectError(`SCRAM key derivation failed: ${err.message}`, null, false)),
      );
    }

    const startStartup = () => {
      input.set((chunk: Buffer) => {
        const r = decoder.feed(chunk, sink);
        if (r !== DecodeResult.Ok) fail(new ConnectError('malformed server frame during startup', null, false));
      });
      socket.write(startupMessage(opts.user, opts.database, opts.params ?? {}));
    };

    const onConnected = () => {
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      if (opts.tls.mode === 'disable') return startStartup();
      socket.write(serialize.requestSsl());
      input.set((b: Buffer) => {
        input.set(null);
        if (b[0] === 0x53 /* S */) {
          socket.off('error', onSocketError);
          socket.removeAllListeners('close');
          // A certificate that fails verify-ca/verify-full ends the attempt with an 'error', with the reason.
          const secured = () => {
            isTlsUp = true;
            startStartup();
          };
          socket = transport.upgradeClient(socket, input, opts.tls, opts.host, secured);
          onSocketError = (err: Error) => fail(new ConnectError(`TLS: ${err.message}`, null, true));
          socket.on('error', onSocketError);
          socket.once('close', () => fail(new ConnectError('server closed the connection during TLS startup', null, true)));
        } else if (isTlsRequired(opts.tls.mode)) {
          fail(new ConnectError(`node does not support TLS and cluster.tls is ${opts.tls.mode}`, null, false));
        } else {
          startStartup();
        }
      });
    };
  });
}
