// Probe IO: one dedicated pg.Client per node (never from the proxy's pools), reconnected after
// any failure. A probe is one Query message (probe-sql.ts) under one deadline that covers
// connect, discovery and the query; on expiry the socket is destroyed so a black-holed node
// cannot wedge the next probe. Owns no policy: outcomes go back to the HealthMonitor.

import pg from 'pg';
import { isTlsRequired, tlsOptions, type BackendTls } from '../backend/backend-tls.js';
import { kindPlugin } from '../cluster/kinds/index.js';
import type { ClusterKind, HealthConfig, NodeConfig } from '../config/types.js';
import { buildProbeSql, discoverSql, readsHeartbeatTable, type HeartbeatWrite, type ProbeCapabilities, type ProbeSql } from './probe-sql.js';
import { parseProbeRow, type RawProbe } from './probe-result.js';

/** One node's probe connection, as the monitor sees it (a fake in unit tests). */
export interface ProbeChannel {
  probe(hb: HeartbeatWrite | null, timeoutMs: number): Promise<RawProbe>;
  close(): Promise<void>;
}

export type ProbeConnector = (node: NodeConfig) => ProbeChannel;

export interface PgProbeOptions {
  readonly kind: ClusterKind;
  readonly health: HealthConfig;
  readonly tls: BackendTls;
  readonly now?: () => number;
}

/** The probe connector used in production. */
export function pgProbeConnector(opts: PgProbeOptions): ProbeConnector {
  return (node) => new PgProbeChannel(node, opts);
}

/** Short, stable failure reasons for logs and refusals ("connection refused", …). */
export function describeProbeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENOTFOUND':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'connect timed out';
    case '57P01':
    case '57P02':
    case '57P03':
      return `server unavailable (${String(e.code)}): ${String(e.message)}`;
  }
  return typeof e?.message === 'string' ? e.message : String(err);
}

class ProbeTimeout extends Error {
  constructor(ms: number) {
    super(`probe timed out after ${ms} ms`);
  }
}

const OPTIONAL_OBJECT_ERRORS = new Set(['42P01', '3F000', '42501', '42883', '42703']);

export class PgProbeChannel implements ProbeChannel {
  private client: pg.Client | null = null;
  private caps: ProbeCapabilities | null = null;
  private isTlsRefused = false;
  private readonly statementNames = new Map<string, string>();
  private readonly sqlCache: ({ caps: ProbeCapabilities; sql: ProbeSql } | undefined)[] = [undefined, undefined];
  private readonly now: () => number;

  constructor(
    private readonly node: NodeConfig,
    private readonly opts: PgProbeOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async probe(hb: HeartbeatWrite | null, timeoutMs: number): Promise<RawProbe> {
    let timer: NodeJS.Timeout | undefined;
    // The deadline settles the probe by itself. Destroying the client is not enough: pg.Client
    // never settles a connect() that was ended while the server had not answered yet (a node
    // stopped with SIGSTOP accepts the TCP connection and then says nothing), and a probe that
    // never settles would stop this node's probes for good.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.destroy();
        reject(new ProbeTimeout(timeoutMs));
      }, timeoutMs);
    });
    const work = this.probeOnce(hb, true);
    work.catch(() => undefined); // after the deadline, its outcome is nobody's
    try {
      return await Promise.race([work, deadline]);
    } catch (err) {
      this.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.caps = null;
    if (c !== null) await c.end().catch(() => undefined);
  }

  private async probeOnce(hb: HeartbeatWrite | null, mayRediscover: boolean, heartbeatError: string | null = null): Promise<RawProbe> {
    const client = await this.connected();
    const caps = this.caps as ProbeCapabilities;
    const { health, kind } = this.opts;
    const { sql, params, writesHeartbeat } = this.probeSql(caps, hb);
    const sentAtMs = this.now();
    const t0 = performance.now();
    try {
      // A named statement: parsed and planned once per connection, then only Bind/Execute.
      const res = await client.query({ name: this.statementName(sql), text: sql, values: [...params] });
      const elapsedMs = performance.now() - t0;
      const row = (res.rows[0] as { probe?: unknown } | undefined)?.probe;
      if (row === undefined || row === null || typeof row !== 'object') throw new Error('probe returned no row');
      const readsHb = readsHeartbeatTable(kindPlugin(kind), caps);
      const written = writesHeartbeat && hb !== null ? hb.tsMs : null;
      return parseProbeRow(row as Record<string, unknown>, { sentAtMs, receivedAtMs: this.now(), elapsedMs }, written, heartbeatError, readsHb);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === undefined || this.client !== client) throw err; // connection-level: a failed probe
      // The node refused the heartbeat write (became read-only, lost the table's privilege…): it
      // is no master for us now; probe again without writing. Costs a round trip at that change only.
      if (writesHeartbeat) return this.probeOnce(null, mayRediscover, `heartbeat not written: ${describeProbeError(err)}`);
      // A table/schema/privilege vanished since discovery: discover again once, not a failure.
      if (mayRediscover && OPTIONAL_OBJECT_ERRORS.has(code)) {
        this.caps = await discover(client, health.heartbeatTable);
        return this.probeOnce(null, false, heartbeatError);
      }
      throw err;
    }
  }

  /** The probe statement for these capabilities, built once (only the parameters change). */
  private probeSql(caps: ProbeCapabilities, hb: HeartbeatWrite | null): ProbeSql {
    const key = hb === null ? 0 : 1;
    const cached = this.sqlCache[key];
    if (cached !== undefined && cached.caps === caps) {
      // Only a statement built to write the heartbeat takes its parameters (without a heartbeat
      // table the text has none, and binding two would fail every probe).
      return hb === null || !cached.sql.writesHeartbeat ? cached.sql : { ...cached.sql, params: [hb.node, hb.tsMs] };
    }
    const built = buildProbeSql(kindPlugin(this.opts.kind), caps, this.opts.health.heartbeatTable, hb);
    this.sqlCache[key] = { caps, sql: built };
    return built;
  }

  /** A stable statement name per probe text (pg prepares each name once per connection). */
  private statementName(sql: string): string {
    let name = this.statementNames.get(sql);
    if (name === undefined) {
      name = `meridian_probe_${this.statementNames.size + 1}`;
      this.statementNames.set(sql, name);
    }
    return name;
  }

  /** The live client, connecting and discovering capabilities if needed. */
  private async connected(): Promise<pg.Client> {
    if (this.client !== null && this.caps !== null) return this.client;
    this.destroy();
    const client = await this.connect();
    const caps = await discover(client, this.opts.health.heartbeatTable);
    if (this.client !== client) throw new Error('probe connection closed');
    this.caps = caps;
    return client;
  }

  /** Connects; the client is this.client from the start so a timeout can destroy it. */
  private async connect(): Promise<pg.Client> {
    const mode = this.opts.tls.mode;
    const wantsTls = isTlsRequired(mode) || (mode === 'prefer' && !this.isTlsRefused);
    const client = this.newClient(wantsTls);
    this.client = client;
    try {
      await client.connect();
      return client;
    } catch (err) {
      if (mode === 'prefer' && wantsTls && this.client === client && /does not support SSL/i.test(String((err as Error).message))) {
        this.isTlsRefused = true;
        const plain = this.newClient(false);
        this.client = plain;
        await plain.connect();
        return plain;
      }
      throw err;
    }
  }

  private newClient(tls: boolean): pg.Client {
    const { health } = this.opts;
    const client = new pg.Client({
      host: this.node.host,
      port: this.node.port,
      user: health.user,
      password: health.password ?? undefined,
      database: health.database,
      application_name: 'meridian-probe',
      keepAlive: true,
      ssl: tls ? tlsOptions(this.opts.tls, this.node.host) : false,
    });
    // An idle probe connection that dies must not crash the process; the next probe reconnects.
    client.on('error', () => {
      if (this.client === client) this.client = null;
    });
    return client;
  }

  private destroy(): void {
    const c = this.client;
    this.client = null;
    this.caps = null;
    if (c !== null) {
      c.connection.stream.destroy();
      c.end().catch(() => undefined);
    }
  }
}

async function discover(client: pg.Client, table: string): Promise<ProbeCapabilities> {
  const res = await client.query(discoverSql(table));
  const r = (res.rows[0] ?? {}) as Record<string, unknown>;
  return {
    hasHeartbeatTable: r.has_hb === true,
    canWriteHeartbeat: r.can_write_hb === true,
    hasPglogical: r.has_pglogical === true,
    hasSpockLagTracker: r.has_spock_lag === true,
    serverVersionNum: typeof r.version_num === 'number' ? r.version_num : 0,
  };
}
