// The part of Bun's socket API the Bun transport uses, declared here (the project does not depend
// on Bun's type package). Read from globalThis at run time; never touched under Node.js.

export interface BunTlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
  serverName?: string;
  rejectUnauthorized?: boolean;
  /** Undocumented in Bun's reference but honoured by upgradeTLS: take the server's side. */
  isServer?: boolean;
}

export interface BunPeerCertificate {
  subject?: unknown;
  subjectaltname?: string;
}

export interface BunSocket<D> {
  data: D;
  readonly remoteAddress: string;
  /** Bytes the kernel took (maybe fewer than given; -1 when closed). */
  write(data: Uint8Array): number;
  end(): unknown;
  terminate(): unknown;
  pause(): unknown;
  resume(): unknown;
  setNoDelay(noDelay?: boolean): unknown;
  setKeepAlive(enable?: boolean, initialDelayMs?: number): unknown;
  upgradeTLS(opts: { tls: BunTlsOptions; socket: BunHandlers<D>; data?: D }): [BunSocket<D>, BunSocket<D>];
  getPeerCertificate?(): BunPeerCertificate | null | undefined;
}

export interface BunHandlers<D> {
  open?(s: BunSocket<D>): void;
  data?(s: BunSocket<D>, chunk: Buffer): void;
  drain?(s: BunSocket<D>): void;
  end?(s: BunSocket<D>): void;
  close?(s: BunSocket<D>, err?: Error): void;
  error?(s: BunSocket<D>, err: Error): void;
  connectError?(s: BunSocket<D>, err: Error): void;
  handshake?(s: BunSocket<D>, success: boolean, authorizationError: Error | null): void;
  binaryType?: 'buffer';
}

export interface BunServer {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

export interface BunApi {
  readonly version: string;
  /** Runs the garbage collector: at once (true) or soon (false). */
  gc(force: boolean): void;
  listen<D>(opts: { hostname: string; port: number; socket: BunHandlers<D>; reusePort?: boolean }): BunServer;
  connect<D>(opts: { hostname: string; port: number; socket: BunHandlers<D>; data?: D }): Promise<BunSocket<D>>;
}

/** Bun's global, or null under Node.js. */
export function bunApi(): BunApi | null {
  return (globalThis as { Bun?: BunApi }).Bun ?? null;
}
