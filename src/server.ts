// The Meridian process object and composition root: builds the listener, the session registry
// (for cancel and admin), pools, health, classifier, catalog refresher, metrics and the admin
// console, hands each the narrow view it needs (ProxyContext to sessions, AdminHost to admin,
// CatalogHost to the refresher), and registers every component that reloads (Reconfigurable).
// Lifecycle: start() → running → readConfig()/applyConfig() any number of times → stop() (stop
// accepting, let transactions finish within a bound, close). Client limits (pending logins,
// max_clients, idle and login timeouts) live in frontend/janitor.ts; this file only calls it at
// accept, login and close.

import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AdminConsole } from './admin/console.js';
import type { AdminHost, ConfigRead } from './admin/types.js';
import { Backend } from './backend/backend.js';
import { checkStartupSettings } from './backend/backend-settings-check.js';
import { REPORTED_SETTINGS, type BackendStartup } from './backend/backend-startup.js';
import { isNodeUnavailable, isUnavailableCode } from './backend/connect-failure.js';
import { Pool, RouteAgainError } from './backend/pool.js';
import { PoolManager } from './backend/pool-manager.js';
import { Classifier } from './classify/classifier.js';
import { RelationsCache } from './classify/relations.js';
import { NO_TRACING, type RequestTracer } from './tracing/request-trace.js';
import { startTracer } from './tracing/tracer.js';
import type { RouteHint } from './classify/types.js';
import { loadConfigFile } from './config/load-config.js';
import type { MeridianConfig } from './config/types.js';
import { Errors, MeridianError, redactAddresses } from './errors.js';
import type { AdminReply, ProxyContext } from './frontend/context.js';
import { CancelForwarder } from './frontend/cancel-limits.js';
import { ClientJanitor } from './frontend/janitor.js';
import { Phase, Session } from './frontend/session.js';
import { StartupHandler } from './frontend/session-startup.js';
import type { FleetLink } from './fleet/link.js';
import { errorResponse } from './protocol/encode.js';
import { HealthMonitor } from './health/health-monitor.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics/metrics.js';
import type { Conn, Input } from './net/conn.js';
import { runtimeInfo, transport } from './net/runtime.js';
import type { Listener, ServerTls } from './net/transport.js';
import { route } from './router/route.js';
import { isWriteSeenEverywhere } from './router/pick-read.js';
import { routePolicyFromConfig } from './router/route-policy.js';
import type { RouteDecision, RouteIntent, RoutePolicy, RouteRequest } from './router/types.js';
import { RouteRecency } from './route-recency.js';
import type { TopologySnapshot } from './topology/types.js';
import { waitForRoute } from './topology/wait-for-route.js';
import { CatalogRefresher } from './catalog-refresher.js';
import { EtcdFleet } from './etcd-fleet/etcd-fleet.js';
import { prepareVerifiers } from './auth/verifiers.js';
import { applyReload, removedUsersCloser, residencyRematcher, type Reconfigurable, type ReloadResult } from './reload.js';

export interface MeridianOptions {
  logger: Logger;
  /** The file RELOAD and SIGHUP read again; null: reload is refused. */
  configPath?: string | null;
  /**
   * A worker of a multi-process instance (`workers` > 1): the primary probes and sends the topology,
   * failures and probe requests go to it, admin commands reach the other workers. Null: one process.
   */
  fleet?: FleetLink | null;
  /** Tests: a span exporter (@opentelemetry/sdk-trace's in-memory one) when tracing.enabled. */
  tracingExporter?: unknown;
}

/** Unhinted requests (almost all) reuse these: no object per routed request. */
const READ_REQUEST: RouteRequest = Object.freeze({ intent: 'read', hint: null });
const WRITE_REQUEST: RouteRequest = Object.freeze({ intent: 'write', hint: null });

/** A startup setting the server would show otherwise than the cached parameters do (or not at all). */
function needsSettingsCheck(shown: ReadonlyMap<string, string>, settings: ReadonlyMap<string, string>): boolean {
  for (const [k, v] of settings) {
    const name = REPORTED_SETTINGS.get(k);
    if (name === undefined || shown.get(name) !== v) return true;
  }
  return false;
}

/** `shown` with the reported ones of `settings` (lower-case names) in place. */
function withSettings(shown: ReadonlyMap<string, string>, settings: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map(shown);
  for (const [k, v] of settings) {
    const name = REPORTED_SETTINGS.get(k);
    if (name !== undefined) out.set(name, v);
  }
  return out;
}

/** A node's last probe error that says it stopped answering (rather than refusing). */
function isHangReason(lastError: string | null): boolean {
  return lastError !== null && /timed out/.test(lastError);
}

/** Nodes a login tries for its startup parameters when the first cannot be connected to. */
const MAX_STARTUP_ROUTES = 3;
/** Errors of takeBackend that mean "this node, not the login, failed": the login may pick another. */
const unavailableNodeErrors = new WeakSet<MeridianError>();

/** A cancel key (BackendKeyData's pid and secret) as a map key. */
function cancelKey(pid: number, secret: number): string {
  return `${pid}:${secret}`;
}

export class Meridian implements ProxyContext {
  config: MeridianConfig;
  readonly logger: Logger;
  readonly pools: PoolManager;
  readonly metrics = new Metrics();
  readonly health: HealthMonitor;
  readonly classifier: Classifier;
  readonly sessions = new Map<number, Session>();
  /** Sessions by the cancel key they were given (cancelKey: pid and secret). */
  private readonly cancelKeys = new Map<string, Session>();
  readonly configPath: string | null;
  readonly fleet: FleetLink | null;
  readonly catalog: CatalogRefresher;
  /** Which node each session request was last routed to: the router's last read tie-break. */
  readonly routeRecency = new RouteRecency();
  /** Client deadlines (login, idle) and login counts: one timer for all connections. */
  readonly janitor: ClientJanitor;
  readonly cancels: CancelForwarder;
  policy: RoutePolicy;
  private listener: Listener | null = null;
  private clientTls: ServerTls | null = null;
  /** The relations of read statements, by text (logical subscribers with partial publications). */
  private readonly relations = new RelationsCache();
  /** hasUnreplicated of the snapshot with this version (judged once per snapshot, not per read). */
  private unreplicatedAt = { version: -1, has: false };
  private shuttingDown = false;
  /** Spans per request (tracing.enabled), else a no-op. */
  tracer: RequestTracer = NO_TRACING;
  private readonly tracingExporter: unknown;
  /** A stop began and waits shutdown.unready_delay before refusing clients. */
  private unready = false;
  private nextSessionId = 1;
  /** The admin console (database admin.database) and the state behind it and the HTTP API. */
  readonly admin: AdminConsole;
  /** This instance's membership of a fleet of instances sharing drains in etcd (`fleet:`); null: alone. */
  readonly etcdFleet: EtcdFleet | null;
  /** Every component that takes a new config at run time, in the order a reload applies them. */
  private readonly reconfigurables: readonly Reconfigurable[];
  readonly startedAtMs = Date.now();
  /** The ErrorResponse last used to refuse a connection at accept (the same one, over and over, in a flood). */
  private refusal: { message: string; frame: Buffer } | null = null;

  constructor(cfg: MeridianConfig, opts: MeridianOptions) {
    this.config = cfg;
    this.logger = opts.logger;
    this.configPath = opts.configPath ?? null;
    this.fleet = opts.fleet ?? null;
    this.tracingExporter = opts.tracingExporter;
    this.policy = routePolicyFromConfig(cfg);
    this.metrics.buildInfo.labels(runtimeInfo.runtime, runtimeInfo.version).set(1);
    // A worker does not probe (the primary does, and counts probe failures, evictions, failovers).
    this.health = new HealthMonitor(cfg, this.logger, this.fleet === null ? this.metrics : null);
    const fleet = this.fleet;
    if (fleet !== null) this.metrics.instanceText = () => fleet.instanceMetrics();
    this.pools = new PoolManager(cfg, {
      onConnectError: (node, err) => {
        // Refused, reset, timed out, or the node said it is shutting down or starting: not usable now.
        if (err.isRefused || isUnavailableCode(err.serverError?.code)) this.reportNodeFailure(node, `connection failed: ${err.message}`);
      },
      // Out of descriptors, memory or ports here: says nothing about the node (no eviction).
      onLocalConnectError: (node, err) => this.logger.warn({ node, err: err.message }, 'local connect failure'),
      onBackendClosed: () => {},
      onBackendOpened: () => {},
      mayPrefill: (node) => {
        const n = this.health.snapshot.byName.get(node);
        return n !== undefined && n.isUp && n.state === 'active';
      },
    });
    this.followNodesDown();
    this.catalog = new CatalogRefresher({
      logger: this.logger,
      config: () => this.config,
      snapshot: () => this.health.snapshot,
      replaceRows: (rows) => this.classifier.replaceCatalogRows(rows),
    });
    this.classifier = new Classifier({
      catalog: this.catalog.lookup,
      writeFunctions: cfg.routing.writeFunctions,
      readFunctions: cfg.routing.readFunctions,
      maxParseBytes: cfg.limits.maxParseBytes,
    });
    this.janitor = new ClientJanitor(this.cfg, {
      closed: (why) => this.metrics.clientLimitCloses.labels(why).inc(),
      failed: (err) => this.logger.error({ err: (err as Error).stack ?? String(err) }, 'client janitor failed'),
    });
    this.cancels = new CancelForwarder((result) => this.metrics.cancelRequests.labels(result).inc());
    this.metrics.pendingLoginsSource = () => this.janitor.limits.pending;
    this.admin = new AdminConsole(this.adminHost());
    this.etcdFleet = cfg.fleet === null ? null : this.joinFleet(cfg.fleet);
    const sessions = () => this.sessions.values();
    // Order matters: sessions of removed users end before their pools shut; pools and probes
    // know the new nodes before residency is matched again.
    this.reconfigurables = [
      { applyConfig: (next) => this.applyOwnConfig(next) },
      removedUsersCloser(sessions, this.logger),
      this.pools,
      this.health,
      {
        applyConfig: (_next, { diff }) => {
          for (const node of diff.removedNodes) this.pools.removeNode(node);
        },
      },
      residencyRematcher(sessions, this.logger),
      this.classifier,
      this.catalog,
      { applyConfig: (next) => prepareVerifiers(next) },
    ];
  }

  /**
   * A node that goes down (probes, or evicted on live traffic) fails the sessions queued for its
   * backends with NodeDownError: they sent nothing, so they route again (frontend/session.ts).
   * A node that went down because it stopped answering (probes timed out: a hung postmaster, a
   * network that drops packets) has its backends discarded too, idle and busy: a request waiting
   * on one gets what a lost backend gives (08006, or a read sent again) instead of hanging until
   * the node wakes up. A node that answers but refuses (max_connections) keeps its backends.
   */
  private followNodesDown(): void {
    let up = new Set<string>();
    this.health.store.onChange((snap) => {
      const now = new Set<string>();
      for (const n of snap.nodes) if (n.isUp) now.add(n.name);
      for (const name of up) {
        if (now.has(name)) continue;
        this.pools.nodeDown(name);
        const why = snap.byName.get(name)?.lastError ?? null;
        if (isHangReason(why)) this.discardBackendsOf(name, `node "${name}" stopped answering (${why})`);
      }
      up = now;
    });
  }

  /** Closes every backend on `node`: idle ones in the pools, and those sessions hold. */
  private discardBackendsOf(node: string, reason: string): void {
    for (const p of this.pools.poolsOfNode(node)) p.closeIdle(reason);
    // Busy ones: lost, so the session holding each hears it (closing would leave it waiting).
    let closed = 0;
    for (const s of this.sessions.values()) {
      const held = s.attached;
      const kept = s.sessionBackends?.get(node);
      for (const b of [held, kept]) {
        if (b === null || b === undefined || b.node !== node || b.isClosed) continue;
        b.discard(reason);
        closed++;
      }
    }
    this.logger.warn({ node, backends: closed, reason }, 'backends of a hung node discarded');
  }

  /** The etcd fleet member over this instance's drains and topology; DRAIN/UNDRAIN become fleet-wide. */
  private joinFleet(fleetCfg: NonNullable<MeridianConfig['fleet']>): EtcdFleet {
    const f = new EtcdFleet({
      config: fleetCfg,
      logger: this.logger,
      startedAtMs: this.startedAtMs,
      region: () => this.config.region,
      snapshot: () => this.health.snapshot,
      drainTimeoutMs: () => this.config.drain.timeoutMs,
      drains: this.admin.drains,
    });
    this.admin.instances = f;
    this.metrics.addFleetGauges(() => ({ isStale: f.stale, members: f.memberCount }));
    return f;
  }

  /** The server's own runtime settings: the config sessions read, and the router's policy. */
  private applyOwnConfig(next: MeridianConfig): void {
    this.config = next;
    this.policy = routePolicyFromConfig(next);
  }

  /** What admin (console and HTTP) may see and do: no more than this. */
  private adminHost(): AdminHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the object's getters and arrows read the live fields
    const m = this;
    return {
      logger: m.logger,
      metrics: m.metrics,
      get config() {
        return m.config;
      },
      topology: m.health.store,
      fleet: m.fleet,
      sessions: m.sessions,
      pools: m.pools,
      routeInputs: () => ({ policy: m.policy, activeBackends: m.pools.activeBackends, lastRouted: m.routeRecency.lastRoutedSeq }),
      classify: (sql) => m.classify(sql),
      lagStatusOf: (node) => (m.fleet === null ? m.health.lagStatusOf(node) : m.fleet.lagStatusOf(node)),
      idleMsOf: (id) => {
        const s = m.sessions.get(id);
        return s === undefined ? null : m.janitor.idleMs(s);
      },
      patroni: () => (m.fleet === null ? m.health.patroni : null),
      isShuttingDown: () => m.isUnready(),
      stop: (graceMs) => m.stop(graceMs),
      readConfig: () => m.readConfig(),
      applyConfig: (next) => m.applyConfig(next),
    };
  }

  readonly cfg = (): MeridianConfig => this.config;

  async start(): Promise<{ host: string; port: number }> {
    await Classifier.init();
    this.tracer = await startTracer(this.config.tracing, this.logger, { exporter: this.tracingExporter });
    prepareVerifiers(this.config); // client SCRAM verifiers derive on the thread pool, not at the first login
    this.loadTls();
    this.pools.start();
    this.janitor.start();
    if (this.fleet === null) this.health.start();
    this.catalog.start();
    // Before serving: the fleet's drained nodes are drained here too (bounded; etcd unreachable: stale).
    await this.etcdFleet?.start();
    const { host, port } = this.config.listen;
    const listener = await transport.listen(
      host,
      port,
      { refuse: () => this.refuseFrame(), accept: (conn, input) => this.accept(conn, input) },
      // A worker of several: the other workers listen on the same port.
      { shared: this.fleet !== null },
    );
    this.listener = listener;
    this.logger.info(
      { host: listener.host, port: listener.port, nodes: this.config.cluster.nodes.length, kind: this.config.cluster.kind, runtime: transport.runtime },
      'listening',
    );
    return { host: listener.host, port: listener.port };
  }

  private loadTls(): void {
    const t = this.config.tls;
    this.clientTls = t === null ? null : transport.serverTls(readFileSync(t.cert), readFileSync(t.key));
  }

  private accept(socket: Conn, input: Input): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const id = this.nextSessionId;
    this.nextSessionId = this.nextSessionId >= 0x7ffffffe ? 1 : this.nextSessionId + 1;
    const s = new Session(id, randomInt(1, 0x7fffffff), socket, this);
    socket.on('error', () => s.close('client socket error'));
    socket.on('close', () => s.close('client disconnected'));
    if (this.shuttingDown) {
      s.close('shutting down', Errors.shuttingDown());
      return;
    }
    this.janitor.track(s);
    new StartupHandler(s, input, this.clientTls);
  }

  /**
   * Asked by the transport before a connection becomes a session: the ErrorResponse to refuse it
   * with (the transport writes it once and destroys the connection a second later), or null.
   */
  private refuseFrame(): Buffer | null {
    const err = this.janitor.limits.refuseAccept(this.config);
    if (err === null) return null;
    this.metrics.clientLimitCloses.labels('too-many-pending').inc();
    let r = this.refusal;
    if (r === null || r.message !== err.message) {
      r = { message: err.message, frame: errorResponse({ severity: err.severity, code: err.sqlstate, message: err.message }) };
      this.refusal = r;
    }
    return r.frame;
  }

  // ---- ProxyContext ----

  classify(sql: string) {
    return this.classifier.classify(sql);
  }

  /** Some node of `snap` holds tables it does not replicate: reads then name their relations. */
  private hasUnreplicated(snap: TopologySnapshot): boolean {
    const c = this.unreplicatedAt;
    if (c.version !== snap.version) this.unreplicatedAt = { version: snap.version, has: hasUnreplicated(snap) };
    return this.unreplicatedAt.has;
  }

  snapshot(): TopologySnapshot {
    return this.health.snapshot;
  }

  /**
   * A session's routing decision. Each one is recorded, so the next read among equal nodes goes
   * to the one routed to least recently: idle sessions spread over equal standbys.
   */
  route(intent: RouteIntent, hint: RouteHint | null, s: Session, isBound = true): RouteDecision {
    let mark = isBound && intent === 'read' ? s.writeMark : null;
    // A node still without a write older than max_read_lag lags past it (no reads there anyway);
    // without a watermark (native logical, no heartbeat table) this is when the mark ends.
    // Turned off since (SET meridian.read_your_writes, a reload): the mark goes with it.
    const nowMs = Date.now();
    if (mark !== null && (nowMs - mark.atMs > this.config.routing.maxReadLagMs || !s.isReadYourWrites())) s.writeMark = mark = null;
    // A causal token the client presented binds its reads the same way, and more strictly (causal-token.ts).
    let causal = isBound && intent === 'read' && s.state.causalToken !== null ? s.causalMark() : null;
    if (causal !== null && nowMs - causal.atMs > this.config.routing.maxReadLagMs) {
      s.causal.satisfied();
      causal = null;
    }
    const after = causal ?? mark;
    const snap = this.health.snapshot;
    // Native logical replication with partial publications: what the read names.
    const relations = isBound && intent === 'read' && this.hasUnreplicated(snap) ? s.readRelations((sql) => this.relations.of(sql)) : null;
    const req =
      after !== null || relations !== null
        ? { intent, hint, after, relations }
        : hint !== null
          ? { intent, hint }
          : intent === 'read'
            ? READ_REQUEST
            : WRITE_REQUEST;
    const d = route(req, snap, s.routing.routeContext, this.policy, this.pools.activeBackends, this.routeRecency.lastRoutedSeq);
    if (d.ok) this.routeRecency.note(d.node);
    if (mark !== null && isWriteSeenEverywhere(snap, mark)) s.writeMark = null;
    if (causal !== null && isWriteSeenEverywhere(snap, causal)) s.causal.satisfied();
    return d;
  }

  recheckNode(node: string): Promise<void> {
    if (this.fleet !== null) return this.fleet.probeNow(node);
    return this.health.probeNow(node).then(() => undefined);
  }

  reportNodeFailure(node: string, reason: string): void {
    if (this.fleet === null) return this.health.reportFailure(node, reason);
    // Out of routing here at once; the primary evicts it for every worker and probes it.
    this.health.store.evict(node, reason);
    this.fleet.reportFailure(node, reason);
  }

  onCatalogChanged(): void {
    this.catalog.refreshSoon();
  }

  adminQuery(sql: string, s: Session): Promise<AdminReply> {
    return this.admin.query(sql, s);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** A stop has begun (/readyz: 503), its unready delay included. */
  isUnready(): boolean {
    return this.unready || this.shuttingDown;
  }

  registerSession(s: Session): void {
    this.sessions.set(s.id, s);
    // The cancel key is unique: a secret is drawn again in the (unlikely) case it is taken.
    while (this.cancelKeys.has(cancelKey(s.cancelPid, s.secret))) s.secret = randomInt(1, 0x7fffffff);
    this.cancelKeys.set(cancelKey(s.cancelPid, s.secret), s);
    if (!s.isAdmin) this.catalog.noteDatabase(s.ident.user, s.ident.database);
  }

  unregisterSession(s: Session): void {
    if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
    const key = cancelKey(s.cancelPid, s.secret);
    if (this.cancelKeys.get(key) === s) this.cancelKeys.delete(key);
    this.janitor.untrack(s);
  }

  admitLogin(s: Session, isAdminConsole: boolean): MeridianError | null {
    const err = this.janitor.admit(s, isAdminConsole);
    if (err !== null) this.metrics.clientLimitCloses.labels(err.code === 'TOO_MANY_FOR_USER' ? 'user-limit' : 'too-many-clients').inc();
    return err;
  }

  findSessionForCancel(pid: number, secret: number): Session | null {
    const s = this.cancelKeys.get(cancelKey(pid, secret));
    if (s !== undefined) return s;
    // Another worker's session, maybe (a cancel arrives on a new connection, at any worker): the
    // primary asks the others, and counts it unknown if none has it.
    if (this.fleet !== null) {
      if (!this.fleet.forwardCancel(pid, secret)) this.cancels.note('limited');
      return null;
    }
    this.cancels.note('unknown'); // no node connection for a key Meridian never handed out
    return null;
  }

  /** A cancel request another worker got: cancels this worker's session with that key; false when none has it. */
  cancelForPeer(pid: number, secret: number): boolean {
    const s = this.cancelKeys.get(cancelKey(pid, secret));
    s?.cancelCurrent();
    return s !== undefined;
  }

  /**
   * The ParameterStatus set of a session's startup reply, or why it cannot log in.
   * Session pooling: the session's own first backend, opened with its startup settings, is taken
   * now and kept (the session uses it from its first request); its parameters are what the
   * server reported for those settings, and its pid becomes the session's cancel key pid. When
   * the pool is full the login does not wait for a backend: the session gets one at its first
   * request, and Meridian's own cancel key.
   * Transaction pooling: the server's parameters (cached per user and database) with the
   * client's startup settings in the server's own form, which a pooled backend is asked for
   * (checkStartupSettings); a value the server refuses refuses the login, as a server would.
   */
  async serverParamsFor(s: Session): Promise<Map<string, string> | MeridianError> {
    // A node that cannot be connected to is out of routing once its pool said so: pick again
    // (at most MAX_STARTUP_ROUTES nodes), as a request does (frontend/session.ts, routeAgain).
    for (let attempt = 1; ; attempt++) {
      const r = await this.serverParamsOnce(s);
      if (!(r instanceof MeridianError) || !unavailableNodeErrors.has(r) || attempt >= MAX_STARTUP_ROUTES) return r;
      this.logger.info({ sid: s.id, err: r.message }, 'backend connect failed at login: picking a node again');
    }
  }

  private async serverParamsOnce(s: Session): Promise<Map<string, string> | MeridianError> {
    const key = `${s.ident.user}\0${s.ident.database}`;
    const isSessionPooled = s.sessionBackends !== null;
    const cached = this.pools.serverParams.get(key);
    const settings = s.state.backendStartup.params;
    if (cached !== undefined && !isSessionPooled && !needsSettingsCheck(cached, settings)) return cached;
    // A hot standby refuses a serializable session's transactions (the check's too): a master then.
    const picked = await this.poolForStartup(s, isSessionPooled || s.state.defaultsToSerializable ? 'write' : 'read');
    if (!(picked instanceof Pool)) return picked;
    const pool = picked;
    const hasRoom = pool.idleCount > 0 || pool.resettingCount > 0 || pool.total < pool.maxSize;
    if (isSessionPooled && (hasRoom || cached === undefined)) {
      const b = await this.takeBackend(pool, s.id, s.state.backendStartup);
      if (!(b instanceof Backend)) return b;
      if (s.phase !== Phase.Startup || s.sessionBackends === null)
        pool.release(b); // closed meanwhile
      else {
        s.sessionBackends.set(b.node, b);
        s.cancelPid = b.serverPid;
      }
      return new Map(b.serverParams);
    }
    if (cached !== undefined && isSessionPooled) return withSettings(cached, settings); // a full pool: not waited for
    let base = cached;
    let b: Backend | MeridianError | null = null;
    if (base === undefined || needsSettingsCheck(base, settings)) {
      b = await this.takeBackend(pool, 0, null);
      if (!(b instanceof Backend)) return b;
      base ??= this.pools.serverParams.get(key) ?? new Map(b.serverParams);
    }
    if (b === null || !needsSettingsCheck(base, settings)) {
      if (b !== null) pool.release(b);
      return base;
    }
    const shownBase = base;
    const got = b;
    return new Promise((resolve) => {
      checkStartupSettings(got, settings, this.config.pool.queueTimeoutMs, (r) => {
        pool.release(got);
        if (r.ok) return resolve(withSettings(shownBase, r.shown));
        const se = r.error;
        if (se !== null) resolve(new MeridianError('SERVER_REFUSED', se.code, 'FATAL', redactAddresses(se.message), null, null, se.message));
        else resolve(Errors.cannotConnect(got.node, r.reason));
      });
    });
  }

  /**
   * The pool of a node the session may use (for its startup reply), or why there is none.
   * `first`: the intent tried first (session pooling: a master, where its writes, LISTEN and
   * NOTIFY go, so the pid it is given is the one it sees there).
   */
  private async poolForStartup(s: Session, first: 'read' | 'write'): Promise<Pool | MeridianError> {
    // Any node the session may use will do for the startup parameters (a causal token's write
    // need not be there). Right after start the probes may not have finished: wait for them
    // (write_wait), then try a node not yet probed.
    const other = first === 'read' ? 'write' : 'read';
    const decide = (): RouteDecision => {
      const d = this.route(first, null, s, false);
      return d.ok ? d : this.route(other, null, s, false);
    };
    let decision = await waitForRoute(this.health, decide, this.config.routing.writeWaitMs, { isCurable: () => true });
    if (!decision.ok) {
      const allowed = s.routing.routeContext.allowedRegions;
      const unprobed = this.health.snapshot.nodes.find((n) => n.lastProbeAtMs === null && (allowed === null || allowed.has(n.region)));
      if (unprobed === undefined) return Errors.noRoute(decision.reason);
      decision = { ok: true, node: unprobed.name, reason: 'not probed yet' };
    }
    const pool = this.pools.pool(decision.node, s.ident.user, s.ident.database);
    return pool ?? Errors.noRoute(`node "${decision.node}" is not configured`);
  }

  /** A backend of `pool` (within pool.queue_timeout), or the connect failure as the client sees it. */
  private takeBackend(pool: Pool, sessionId: number, startup: BackendStartup | null): Promise<Backend | MeridianError> {
    return new Promise((resolve) => {
      pool.acquire(
        this.config.pool.queueTimeoutMs,
        (err, b) => {
          if (b !== null) return resolve(b);
          if (err instanceof RouteAgainError || isNodeUnavailable(err)) {
            const e = Errors.cannotConnect(pool.node, err?.message ?? 'unavailable');
            unavailableNodeErrors.add(e);
            return resolve(e);
          }
          const se = (err as { serverError?: { code: string; message: string } } | null)?.serverError;
          // A startup setting the server refused (22023 invalid value, 42501 not allowed): its own words, as directly.
          if (se && startup !== null && (se.code.startsWith('22') || se.code.startsWith('42'))) {
            resolve(new MeridianError('SERVER_REFUSED', se.code, 'FATAL', redactAddresses(se.message), null, null, se.message));
          } else if (se) resolve(Object.assign(Errors.cannotConnect(pool.node, se.message), { sqlstate: se.code, severity: 'FATAL' as const }));
          else resolve(Errors.cannotConnect(pool.node, err?.message ?? 'unknown error'));
        },
        sessionId,
        startup,
      );
    });
  }

  // ---- lifecycle ----

  /**
   * Reads and validates the config file for a reload (SIGHUP, RELOAD): once per reload, so what
   * is decided (which nodes to drain) and what is applied come from the same read. A failure is
   * counted and logged; the running config stays.
   */
  readConfig(): ConfigRead {
    if (this.configPath === null) {
      return { ok: false, failure: { ok: false, message: 'no config file to reload (started without --config)', changes: [], needsRestart: [] } };
    }
    try {
      return { ok: true, config: loadConfigFile(this.configPath) };
    } catch (e) {
      this.metrics.reloads.labels('failed').inc();
      this.logger.error({ err: (e as Error).message }, 'reload failed');
      return { ok: false, failure: { ok: false, message: (e as Error).message, changes: [], needsRestart: [] } };
    }
  }

  /** Re-reads the config file and applies it (one read), without draining removed nodes first as RELOAD does. */
  reload(): ReloadResult {
    const read = this.readConfig();
    return read.ok ? this.applyConfig(read.config) : read.failure;
  }

  /** Applies a validated config (from readConfig) to every reloadable component; restart-only settings keep their values. */
  applyConfig(next: MeridianConfig): ReloadResult {
    const result = applyReload(this.config, next, this.reconfigurables, this.logger);
    this.metrics.reloads.labels('ok').inc();
    return result;
  }

  /**
   * Unready at once (/readyz 503); after shutdown.unready_delay, stop accepting; let sessions
   * finish their transactions (bounded by `graceMs`, shutdown.grace by default: each session
   * closes as its transaction ends, an idle one at once), then close everything.
   */
  async stop(graceMs = this.config.shutdown.graceMs): Promise<void> {
    if (this.shuttingDown || this.unready) return;
    this.unready = true;
    const delayMs = this.config.shutdown.unreadyDelayMs;
    if (delayMs > 0) {
      this.logger.info({ sessions: this.sessions.size, delayMs }, 'stopping: unready, still serving');
      await new Promise((r) => setTimeout(r, delayMs));
    }
    this.shuttingDown = true;
    this.logger.info({ sessions: this.sessions.size, graceMs }, 'shutting down');
    // Stop accepting now; close() only calls back once every connection has ended, so it is
    // awaited after the sessions are closed below, not before.
    const listener = this.listener;
    const closed = listener === null ? Promise.resolve() : listener.close();
    this.janitor.closeLoggingIn('shutting down', Errors.shuttingDown());
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      let busy = 0;
      // A session closes as its transaction ends (Session.closeOnceAnswered); the idle ones now.
      for (const s of this.sessions.values()) {
        if (s.hasWorkInFlight) busy++;
        else s.close('shutting down', Errors.shuttingDown());
      }
      if (busy === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of [...this.sessions.values()]) s.close('shutting down', Errors.shuttingDown());
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    this.janitor.stop();
    this.catalog.stop();
    void this.health.stop(); // cannot reject; probe connections close in the background
    this.pools.stop();
    this.pools.closeAllIdle('shutting down');
    await this.tracer.shutdown().catch(() => undefined); // the last spans go out (bounded by the exporter's timeout)
    await this.etcdFleet?.stop(); // leaves the fleet (its lease revoked, bounded)
  }
}

/** Some node holds tables it does not replicate (a logical subscriber of partial publications). */
function hasUnreplicated(snap: TopologySnapshot): boolean {
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i++) if (nodes[i]!.unreplicated != null) return true;
  return false;
}
