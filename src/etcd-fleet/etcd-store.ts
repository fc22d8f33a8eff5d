// The etcd fleet's only contact with etcd: a thin, bounded face over the etcd3 client. etcd3 (and
// gRPC behind it) is imported here, lazily, when a fleet is configured: an instance without
// `fleet:` never loads it. Every call carries a gRPC deadline of fleet.call_timeout and is raced
// against the same bound, so a hung etcd can delay nothing longer than that; etcd3's own retries
// and circuit breaker are replaced by a pass-through policy (the caller's sync loop is the retry,
// and a breaker would keep failing fast after etcd is back).

import type { Etcd3, IOptions, Lease } from 'etcd3';
import type { FleetConfig } from '../config/types.js';

export interface StoredKey {
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
  /** The lease the key lives under ('0': none). */
  readonly lease: string;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** etcd3's fault-handling slot, doing nothing but the call (async: a synchronous throw becomes a rejection). */
const PASS_THROUGH = {
  execute: async (fn: (ctx: { signal: AbortSignal; attempt: number }) => unknown) => fn({ signal: new AbortController().signal, attempt: 0 }),
} as unknown as Policy;

export class EtcdTimeoutError extends Error {}

/** `p`, or a rejection after `ms` (the late outcome of `p` is dropped). */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EtcdTimeoutError(`${what}: no answer from etcd within ${ms} ms`)), ms);
  });
  p.catch(() => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A registration lease: granted, renewed one keep-alive at a time by the caller's loop, revoked on stop. */
export interface FleetLease {
  readonly id: string;
  keepAlive(): Promise<void>;
  revoke(): Promise<void>;
}

export class EtcdStore {
  private constructor(
    private readonly client: Etcd3,
    private readonly timeoutMs: number,
  ) {}

  /** Builds the client (no network yet: the first call connects). */
  static async open(cfg: FleetConfig): Promise<EtcdStore> {
    const { Etcd3 } = await import('etcd3');
    const timeoutMs = cfg.callTimeoutMs;
    const options: IOptions = {
      hosts: [...cfg.endpoints],
      dialTimeout: timeoutMs,
      faultHandling: { host: () => PASS_THROUGH, global: PASS_THROUGH },
      defaultCallOptions: () => ({ deadline: Date.now() + timeoutMs }),
    };
    if (cfg.tls !== null) {
      options.credentials = {
        rootCertificate: Buffer.from(cfg.tls.ca),
        ...(cfg.tls.key === null ? {} : { privateKey: Buffer.from(cfg.tls.key) }),
        ...(cfg.tls.cert === null ? {} : { certChain: Buffer.from(cfg.tls.cert) }),
      };
    }
    if (cfg.user !== null && cfg.password !== null)
      options.auth = { username: cfg.user, password: cfg.password, callOptions: () => ({ deadline: Date.now() + timeoutMs }) };
    return new EtcdStore(new Etcd3(options), timeoutMs);
  }

  /** Every key under `prefix`, with its mod revision. */
  async range(prefix: string): Promise<StoredKey[]> {
    const r = await bounded(this.client.getAll().prefix(prefix).exec(), this.timeoutMs, `read ${prefix}`);
    return r.kvs.map((kv) => ({ key: kv.key.toString('utf8'), value: kv.value, modRevision: Number(kv.mod_revision), lease: String(kv.lease) }));
  }

  /** Writes `key`; returns the revision of the write (it names the operation). */
  async put(key: string, value: string, lease: FleetLease | null = null): Promise<number> {
    const b = this.client.put(key).value(value);
    if (lease !== null) b.lease(lease.id);
    const r = await bounded(b.exec(), this.timeoutMs, `write ${key}`);
    return Number(r.header.revision);
  }

  /** A new lease of `ttlMs` (whole seconds, at least 2), renewed by keepAlive. */
  async grantLease(ttlMs: number): Promise<FleetLease> {
    const lease: Lease = this.client.lease(Math.max(2, Math.round(ttlMs / 1000)), { autoKeepAlive: false });
    lease.on('lost', () => {}); // the caller learns it from keepAlive's rejection
    const id = await bounded(lease.grant(), this.timeoutMs, 'grant a lease');
    const timeoutMs = this.timeoutMs;
    return {
      id,
      keepAlive: async () => {
        await bounded(lease.keepaliveOnce(), timeoutMs, 'renew the lease');
      },
      revoke: () => bounded(lease.revoke(), timeoutMs, 'revoke the lease'),
    };
  }

  close(): void {
    this.client.close();
  }
}
