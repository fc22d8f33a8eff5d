// Every Prometheus metric Meridian exports, defined in this one file (prefix meridian_). Labels
// come from small sets only (node, region, role, class, state, result, rule, sqlstate class) —
// never SQL, user input or client addresses. Hot-path children are cached per label set.
// State gauges (nodes, sessions, backends) are computed at scrape time from a snapshot.
// With `workers` > 1 the primary sums every process's metrics (fleet/primary.ts); gauges of the
// shared topology say `aggregator: 'max'`, so a node that is up counts 1, not once per worker.

import client from 'prom-client';
import { FastHistogram } from './fast-histogram.js';
import type { SessionMetrics } from '../frontend/context.js';
import type { RouteIntent } from '../router/types.js';

export interface ScrapeSources {
  /** Called at scrape time to refresh state gauges. */
  collect(m: Metrics): void;
}

export class Metrics implements SessionMetrics {
  readonly registry = new client.Registry();
  readonly routed: (node: string, intent: RouteIntent) => void;
  readonly routedTotal: client.Counter<'node' | 'class'>;
  readonly requestDuration: FastHistogram;
  readonly errorsTotal: client.Counter<'class'>;
  readonly poolWaitSeconds: FastHistogram;
  readonly residencyRefusals: client.Counter<'rule'>;
  readonly residencyDenials: client.Counter<'reason'>;
  readonly authFailures: client.Counter<'reason'>;
  readonly clientSessions: client.Gauge<'state'>;
  readonly backends: client.Gauge<'node' | 'state'>;
  readonly nodeUp: client.Gauge<'node' | 'region'>;
  readonly nodeRole: client.Gauge<'node' | 'role'>;
  readonly nodeState: client.Gauge<'node' | 'state'>;
  readonly lagMs: client.Gauge<'node'>;
  readonly lagBytes: client.Gauge<'node'>;
  readonly rttMs: client.Gauge<'node'>;
  readonly probeFailures: client.Counter<'node'>;
  readonly evictions: client.Counter<'node'>;
  readonly failovers: client.Counter<never>;
  readonly readsFollowWrites: client.Gauge<never>;
  readonly readFallbacks: client.Counter<never>;
  readonly reroutes: client.Counter<'class'>;
  readonly txReplays: client.Counter<'result'>;
  readonly writesHeld: client.Gauge<never>;
  readonly patroniPolls: client.Counter<'result'>;
  readonly switchovers: client.Counter<'result'>;
  readonly drainState: client.Gauge<'node'>;
  readonly pinnedSessions: client.Gauge<'reason'>;
  readonly reloads: client.Counter<'result'>;
  readonly retriesTotal: client.Counter<'reason'>;
  readonly sessionCrashes: client.Counter<never>;
  readonly clientLimitCloses: client.Counter<'reason'>;
  readonly cancelRequests: client.Counter<'result'>;
  readonly pendingLogins: client.Gauge<never>;
  /** 1, labelled with the runtime carrying the process (bun, node) and its version. */
  readonly buildInfo: client.Gauge<'runtime' | 'version'>;
  /** Read at scrape time for meridian_client_logins_pending (set by the server). */
  pendingLoginsSource: (() => number) | null = null;
  private readonly retryChildren = new Map<string, client.Counter.Internal>();
  /** Plain per-node counts of routed requests: the hot path adds to these, the counter copies them at
   * scrape time (the demo table and SHOW NODES read them synchronously). */
  readonly routedCounts = new Map<string, { reads: number; writes: number }>();
  private readonly errorChildren = new Map<string, client.Counter.Internal>();
  private sources: ScrapeSources | null = null;
  /** A worker of a multi-process instance: /metrics serves the whole instance's (aggregated) text. */
  instanceText: (() => Promise<string>) | null = null;

  constructor() {
    const r = this.registry;
    client.collectDefaultMetrics({ register: r, prefix: 'meridian_process_' });
    this.buildInfo = new client.Gauge({
      name: 'meridian_build_info',
      help: 'Always 1: the runtime carrying this process (bun: native sockets; node: node:net) and its version',
      labelNames: ['runtime', 'version'],
      registers: [r],
    });
    this.clientSessions = new client.Gauge({
      name: 'meridian_client_sessions',
      help: 'Client sessions by state (active: a backend attached; idle; pinned)',
      labelNames: ['state'],
      registers: [r],
      collect: () => {
        this.sources?.collect(this);
      },
    });
    this.backends = new client.Gauge({
      name: 'meridian_backends',
      help: 'Server connections by node and state (active, idle, connecting)',
      labelNames: ['node', 'state'],
      registers: [r],
    });
    const routedCounts = this.routedCounts;
    this.routedTotal = new client.Counter({
      name: 'meridian_routed_requests_total',
      help: 'Requests routed, by node and class (read, write)',
      labelNames: ['node', 'class'],
      registers: [r],
      collect() {
        this.reset();
        for (const [node, c] of routedCounts) {
          this.inc({ node, class: 'read' }, c.reads);
          this.inc({ node, class: 'write' }, c.writes);
        }
      },
    });
    this.requestDuration = new FastHistogram({
      name: 'meridian_request_duration_seconds',
      help: 'Time from sending a request to a node until its ReadyForQuery',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [r],
    });
    this.errorsTotal = new client.Counter({
      name: 'meridian_errors_total',
      help: 'Errors sent to clients, by SQLSTATE class (first two characters)',
      labelNames: ['class'],
      registers: [r],
    });
    this.poolWaitSeconds = new FastHistogram({
      name: 'meridian_pool_wait_seconds',
      help: 'Time sessions waited for a backend when none was idle',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [r],
    });
    this.authFailures = new client.Counter({
      name: 'meridian_auth_failures_total',
      help: 'Failed client logins by reason (unknown-user, wrong-password, malformed, lookup-failed)',
      labelNames: ['reason'],
      registers: [r],
    });
    this.residencyRefusals = new client.Counter({
      name: 'meridian_residency_refusals_total',
      help: 'Requests refused because the residency rule allowed no healthy node',
      labelNames: ['rule'],
      registers: [r],
    });
    this.residencyDenials = new client.Counter({
      name: 'meridian_residency_denials_total',
      labelNames: ['reason'],
      registers: [r],
      help: 'Sessions residency refused at login (tenant-claim: 28000; no-rule, no-common-region: 57M01) or closed after a reload narrowed it (reload: 57M01)',
    });
    this.nodeUp = new client.Gauge({
      name: 'meridian_node_up',
      help: '1 when the node passes health probes',
      labelNames: ['node', 'region'],
      registers: [r],
      aggregator: 'max',
    });
    this.nodeRole = new client.Gauge({
      name: 'meridian_node_role',
      help: '1 for the role the node has now (master, replica, unknown)',
      labelNames: ['node', 'role'],
      registers: [r],
      aggregator: 'max',
    });
    this.nodeState = new client.Gauge({
      name: 'meridian_node_state',
      help: '1 for the admin state of the node (active, draining, drained, catching-up)',
      labelNames: ['node', 'state'],
      registers: [r],
      aggregator: 'max',
    });
    this.lagMs = new client.Gauge({
      name: 'meridian_node_lag_ms',
      help: 'Replication lag in ms (-1 unknown)',
      labelNames: ['node'],
      registers: [r],
      aggregator: 'max',
    });
    this.lagBytes = new client.Gauge({
      name: 'meridian_node_lag_bytes',
      help: 'Replication lag in bytes where an LSN allows (-1 unknown)',
      labelNames: ['node'],
      registers: [r],
      aggregator: 'max',
    });
    this.rttMs = new client.Gauge({
      name: 'meridian_node_rtt_ms',
      help: 'Smoothed probe round-trip time in ms (-1 unknown)',
      labelNames: ['node'],
      registers: [r],
      aggregator: 'max',
    });
    this.probeFailures = new client.Counter({ name: 'meridian_probe_failures_total', help: 'Failed health probes', labelNames: ['node'], registers: [r] });
    this.evictions = new client.Counter({
      name: 'meridian_evictions_total',
      help: 'Nodes taken out of routing (failed probes or passive health)',
      labelNames: ['node'],
      registers: [r],
    });
    this.failovers = new client.Counter({ name: 'meridian_failovers_total', help: 'Changes of the preferred write master', registers: [r] });
    this.readsFollowWrites = new client.Gauge({
      name: 'meridian_reads_follow_writes',
      help: '1 while reads go to the nearest master because lag is unknown on every node of a multi-master cluster (see SHOW NODES problem)',
      registers: [r],
      aggregator: 'max',
    });
    this.readFallbacks = new client.Counter({
      name: 'meridian_read_fallbacks_total',
      help: 'Times reads started following writes because lag became unknown on every node of a multi-master cluster',
      registers: [r],
    });
    this.reroutes = new client.Counter({
      name: 'meridian_reroutes_total',
      help: 'Requests routed again because their node could not be connected to (nothing of them had run)',
      labelNames: ['class'],
      registers: [r],
    });
    this.txReplays = new client.Counter({
      name: 'meridian_transaction_replays_total',
      help: 'Transactions whose backend was lost before COMMIT (routing.transaction_replay), by result: started (a replay began), succeeded (every result the same: the transaction went on), mismatched (a result differed: 08006), refused (not replayable: too large, lost again too often, pinned)',
      labelNames: ['result'],
      registers: [r],
    });
    this.writesHeld = new client.Gauge({
      name: 'meridian_writes_held',
      help: '1 while new writes are held because a switchover is under way (SWITCHOVER TO, or one Patroni reports); they wait up to routing.write_wait',
      registers: [r],
      aggregator: 'max',
    });
    this.patroniPolls = new client.Counter({
      name: 'meridian_patroni_polls_total',
      help: "Reads of Patroni's GET /cluster (cluster.patroni) by result: ok, unreachable (no URL answered in time), invalid (an answer that is not a cluster view)",
      labelNames: ['result'],
      registers: [r],
    });
    this.switchovers = new client.Counter({
      name: 'meridian_switchovers_total',
      help: 'SWITCHOVER TO commands by result: done (the new primary took over), failed (Patroni refused or the promotion did not come in time)',
      labelNames: ['result'],
      registers: [r],
    });
    this.drainState = new client.Gauge({
      name: 'meridian_node_draining',
      help: '1 while the node is draining or drained',
      labelNames: ['node'],
      registers: [r],
      aggregator: 'max',
    });
    this.pinnedSessions = new client.Gauge({
      name: 'meridian_pinned_sessions',
      help: 'Sessions pinned to their backend, by reason',
      labelNames: ['reason'],
      registers: [r],
    });
    this.reloads = new client.Counter({
      name: 'meridian_config_reloads_total',
      help: 'Configuration reloads by result (ok, failed)',
      labelNames: ['result'],
      registers: [r],
    });
    this.retriesTotal = new client.Counter({
      name: 'meridian_retries_total',
      help: 'Requests Meridian sent again instead of failing them, by reason (backend-lost: an autocommit read; read-only: a write a node refused with 25006; standby-refused: a read a hot standby cannot run, sent to a master)',
      labelNames: ['reason'],
      registers: [r],
    });
    this.sessionCrashes = new client.Counter({
      name: 'meridian_session_crashes_total',
      help: 'Sessions closed because one of their handlers threw (a bug in Meridian: the log has the stack); the process and other sessions carry on',
      registers: [r],
    });
    this.clientLimitCloses = new client.Counter({
      name: 'meridian_client_limit_closes_total',
      help: 'Client connections refused or closed by a client limit, by reason (too-many-pending, too-many-clients, user-limit, login-timeout, idle-timeout, idle-transaction-timeout)',
      labelNames: ['reason'],
      registers: [r],
    });
    this.cancelRequests = new client.Counter({
      name: 'meridian_cancel_requests_total',
      help: 'CancelRequests by result (forwarded: sent to the node; stale: the request had ended when the node answered; idle: nothing was running; session-limited / limited: dropped by the per-session or global cap; unknown: no session with that key; failed)',
      labelNames: ['result'],
      registers: [r],
    });
    this.pendingLogins = new client.Gauge({
      name: 'meridian_client_logins_pending',
      help: 'Client connections accepted and not logged in yet (limits.max_pending_logins)',
      registers: [r],
      collect: () => {
        this.pendingLogins.set(this.pendingLoginsSource?.() ?? 0);
      },
    });
    this.routed = (node, intent) => {
      // One lookup by node name, no key string or label object per request.
      let n = this.routedCounts.get(node);
      if (n === undefined) this.routedCounts.set(node, (n = { reads: 0, writes: 0 }));
      if (intent === 'write') n.writes++;
      else n.reads++;
    };
  }

  setSources(sources: ScrapeSources): void {
    this.sources = sources;
  }

  requestDone(seconds: number): void {
    this.requestDuration.record(seconds);
  }

  error(sqlstate: string): void {
    const cls = sqlstate.slice(0, 2);
    let c = this.errorChildren.get(cls);
    if (c === undefined) this.errorChildren.set(cls, (c = this.errorsTotal.labels(cls)));
    c.inc();
  }

  txReplay(result: 'started' | 'succeeded' | 'mismatched' | 'refused'): void {
    this.txReplays.labels(result).inc();
  }

  routedAgain(intent: RouteIntent): void {
    this.reroutes.labels(intent).inc();
  }

  retried(reason: 'backend-lost' | 'read-only' | 'standby-refused'): void {
    let c = this.retryChildren.get(reason);
    if (c === undefined) this.retryChildren.set(reason, (c = this.retriesTotal.labels(reason)));
    c.inc();
  }

  sessionCrash(): void {
    this.sessionCrashes.inc();
  }

  poolWait(seconds: number): void {
    this.poolWaitSeconds.record(seconds);
  }

  authFailed(reason: string): void {
    this.authFailures.labels(reason).inc();
  }

  residencyRefused(rule: string): void {
    this.residencyRefusals.labels(rule).inc();
  }

  residencyDenied(reason: 'tenant-claim' | 'no-rule' | 'no-common-region' | 'reload'): void {
    this.residencyDenials.labels(reason).inc();
  }

  /**
   * meridian_fleet_stale and meridian_fleet_members: only an instance with `fleet:` (etcd) has
   * them; read at scrape time from the fleet member.
   */
  addFleetGauges(source: () => { isStale: boolean; members: number }): void {
    const stale: client.Gauge<never> = new client.Gauge({
      name: 'meridian_fleet_stale',
      help: '1 while this instance cannot reach etcd (it serves with the last known fleet state and refuses fleet-wide commands), else 0',
      registers: [this.registry],
      collect: () => stale.set(source().isStale ? 1 : 0),
    });
    const members: client.Gauge<never> = new client.Gauge({
      name: 'meridian_fleet_members',
      help: 'Meridian instances registered in the fleet as this instance last read it (itself included)',
      registers: [this.registry],
      collect: () => members.set(source().members),
    });
  }

  async text(): Promise<string> {
    if (this.instanceText !== null) return this.instanceText();
    return this.registry.metrics();
  }
}
