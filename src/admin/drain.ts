// Drain orchestration (DRAIN / UNDRAIN, HTTP drain, removal of a node on reload). A drain:
//   1. marks the node `draining` in the topology store, so the router stops choosing it at once:
//      no new transaction, pin or session starts there;
//   2. marks its pools draining (idle backends close now, released ones close, none open);
//   3. waits until no session holds a backend there (running transactions and requests finish);
//   4. after the timeout, per drain.on_timeout: `cancel` cancels running queries, then closes
//      sessions still held there (idle in a transaction, or pinned) with 57P03; `leave` lets them be;
//   5. marks the node `drained`.
// UNDRAIN makes it `catching-up`; it becomes `active` once up with lag ≤ routing.readmit_max_lag
// (checked here at once, then by the health monitor after every probe).
// Node state changes only through the store's setAdminState. One Drains per admin console: it
// owns the drains in progress.

import type { Backend } from '../backend/backend.js';
import { Errors } from '../errors.js';
import type { AdminState, NodeSnapshot } from '../topology/types.js';
import { lastMasterOf } from './last-master.js';
import type { AdminHost, AdminSession } from './types.js';

const POLL_MS = 50;
/** After cancelling on timeout, how long cancelled requests get to come back before their sessions close. */
const CANCEL_GRACE_MS = 3_000;

export interface DrainOptions {
  readonly timeoutMs?: number;
  readonly force?: boolean;
  readonly reason?: string;
}

export interface DrainResult {
  readonly node: string;
  readonly outcome: 'drained' | 'already-drained' | 'undrained';
  readonly state: AdminState | 'removed';
  readonly waitedMs: number;
  /** Sessions whose running query was cancelled at the timeout. */
  readonly cancelled: number;
  /** Sessions closed at the timeout (idle in a transaction or pinned). */
  readonly closed: number;
  /** Sessions left running on the node at the timeout (on_timeout: leave). */
  readonly left: number;
}

export interface UndrainResult {
  readonly node: string;
  readonly state: AdminState;
  readonly message: string;
}

class NodeDrain {
  readonly startedAtMs = Date.now();
  readonly deadlineMs: number;
  isAborted = false;
  isTimedOut = false;
  sessionsLeft = 0;
  backendsLeft = 0;
  result: DrainResult | null = null;
  done!: Promise<DrainResult>;

  constructor(
    readonly node: string,
    readonly timeoutMs: number,
    readonly onTimeout: 'cancel' | 'leave',
  ) {
    this.deadlineMs = this.startedAtMs + timeoutMs;
  }
}

/** What a drain reads and changes: node state, the sessions and pools on the node, the drain settings. */
export type DrainHost = Pick<AdminHost, 'config' | 'logger' | 'topology' | 'sessions' | 'pools'>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Drains {
  private readonly jobs = new Map<string, NodeDrain>();

  constructor(private readonly host: DrainHost) {}

  /**
   * DRAIN: resolves when the node is drained (or an UNDRAIN aborted the drain). Throws a
   * MeridianError for an unknown node, or when it is the last master of a residency set (without force).
   */
  drain(node: string, opts: DrainOptions = {}): Promise<DrainResult> {
    const h = this.host;
    const n = this.nodeOrThrow(node);
    const running = this.jobs.get(node);
    if (n.state === 'draining' && running !== undefined && running.result === null && !running.isAborted) return running.done;
    if (n.state === 'drained') {
      return Promise.resolve({ node, outcome: 'already-drained', state: 'drained', waitedMs: 0, cancelled: 0, closed: 0, left: 0 });
    }
    if (opts.force !== true) this.checkDrainable(node);
    const cfg = h.config.drain;
    const job = new NodeDrain(node, opts.timeoutMs ?? cfg.timeoutMs, cfg.onTimeout);
    this.jobs.set(node, job);
    // Order matters: the router must stop choosing the node before its pools refuse new backends.
    h.topology.setAdminState(node, 'draining', opts.reason ?? 'DRAIN');
    h.pools.setNodeDraining(node, true);
    job.done = this.run(job).then((r) => {
      job.result = r;
      return r;
    });
    return job.done;
  }

  /**
   * The checks a DRAIN makes before it changes anything: a known node, and (without FORCE) not
   * the last master of a residency rule's regions or of the cluster. Throws the MeridianError.
   * A fleet-wide DRAIN runs them on the instance it came through, before writing to etcd.
   */
  checkDrainable(node: string): void {
    this.nodeOrThrow(node);
    const sets = lastMasterOf(this.host.topology.snapshot, this.host.config.residency.rules, node);
    if (sets.length > 0) {
      throw Errors.adminFailed(`refusing to drain "${node}": it is the last master of ${sets.join(' and ')}; use DRAIN ${node} FORCE to drain it anyway`);
    }
  }

  /** UNDRAIN: the node catches up, then is readmitted (immediately if already caught up). */
  undrain(node: string): UndrainResult {
    const h = this.host;
    const n = this.nodeOrThrow(node);
    const job = this.jobs.get(node);
    if (job !== undefined && job.result === null) job.isAborted = true;
    if (n.state === 'active') {
      h.pools.setNodeDraining(node, false);
      return { node, state: 'active', message: `node "${node}" is not drained` };
    }
    h.pools.setNodeDraining(node, false);
    h.topology.setAdminState(node, 'catching-up', 'UNDRAIN');
    this.readmitIfCaughtUp(node);
    const state = h.topology.snapshot.byName.get(node)?.state ?? 'catching-up';
    const lag = n.lagMs === null ? 'unknown' : `${Math.round(n.lagMs)} ms`;
    const message =
      state === 'active'
        ? `node "${node}" readmitted`
        : `node "${node}" catching up (${n.isUp ? `lag ${lag}` : 'down'}); readmitted when up with lag ≤ ${h.config.routing.readmitMaxLagMs} ms`;
    return { node, state, message };
  }

  /** Hot reload: drain nodes about to be removed (forced: removal is the operator's decision). */
  drainForRemoval(nodes: readonly string[]): Promise<DrainResult[]> {
    const known = nodes.filter((n) => this.host.topology.snapshot.byName.has(n));
    return Promise.all(known.map((n) => this.drain(n, { force: true, reason: 'removed from config' })));
  }

  /** Drain progress for SHOW NODES / GET /nodes, or null when nothing is going on. */
  progress(node: string): string | null {
    const cfg = this.host.config;
    const n = this.host.topology.snapshot.byName.get(node);
    if (n === undefined) return null;
    const job = this.jobs.get(node);
    if (n.state === 'draining' && job !== undefined && job.result === null) {
      const leftS = Math.max(0, Math.ceil((job.deadlineMs - Date.now()) / 1000));
      const phase = job.isTimedOut ? `timed out, ${cfg.drain.onTimeout === 'cancel' ? 'cancelling' : 'leaving'}` : `${leftS}s to timeout`;
      return `${job.sessionsLeft} sessions, ${job.backendsLeft} backends left; ${phase}`;
    }
    if (n.state === 'drained' && job?.result != null) {
      const r = job.result;
      const extra = [r.cancelled > 0 ? `${r.cancelled} cancelled` : '', r.closed > 0 ? `${r.closed} closed` : '', r.left > 0 ? `${r.left} left running` : '']
        .filter((x) => x !== '')
        .join(', ');
      return `drained in ${(r.waitedMs / 1000).toFixed(1)}s${extra === '' ? '' : ` (${extra})`}`;
    }
    if (n.state === 'catching-up') {
      const lag = n.lagMs === null ? 'unknown' : `${Math.round(n.lagMs)} ms`;
      return `${n.isUp ? `lag ${lag}` : 'down'}; readmit at lag ≤ ${cfg.routing.readmitMaxLagMs} ms`;
    }
    return null;
  }

  /** Stops watching (Meridian stopped). */
  stopAll(): void {
    for (const job of this.jobs.values()) if (job.result === null) job.isAborted = true;
  }

  private nodeOrThrow(node: string): NodeSnapshot {
    const n = this.host.topology.snapshot.byName.get(node);
    if (n === undefined) throw Errors.invalidParameter(`unknown node "${node}" (see SHOW NODES)`);
    return n;
  }

  private sessionsOn(node: string): AdminSession[] {
    const out: AdminSession[] = [];
    for (const s of this.host.sessions.values()) if (!s.isAdmin && s.attached !== null && s.attached.node === node) out.push(s);
    return out;
  }

  /** Backends of the node that are checked out or connecting (idle ones are closed by the pool). */
  private backendsBusy(node: string): number {
    let n = 0;
    for (const p of this.host.pools.poolsOfNode(node)) n += p.total - p.idleCount;
    return n;
  }

  /**
   * pool.mode session keeps one backend per node for a session's life. A session not using its
   * backend to the draining node gives it up now: its next request is routed elsewhere.
   */
  private releaseKeptBackends(node: string): void {
    for (const s of this.host.sessions.values()) {
      const kept: Backend | undefined = s.sessionBackends?.get(node);
      if (kept === undefined || s.attached === kept) continue;
      s.sessionBackends?.delete(node);
      kept.close('node draining');
    }
  }

  /** Waits until nothing runs on the node, the timeout, or an UNDRAIN. */
  private async waitIdle(job: NodeDrain, untilMs: number): Promise<boolean> {
    for (;;) {
      this.releaseKeptBackends(job.node);
      job.sessionsLeft = this.sessionsOn(job.node).length;
      job.backendsLeft = this.backendsBusy(job.node);
      if (job.sessionsLeft === 0 && job.backendsLeft === 0) return true;
      if (job.isAborted || Date.now() >= untilMs) return false;
      await sleep(POLL_MS);
    }
  }

  private async run(job: NodeDrain): Promise<DrainResult> {
    const h = this.host;
    const node = job.node;
    let cancelled = 0;
    let closed = 0;
    let left = 0;
    let isIdle = await this.waitIdle(job, job.deadlineMs);
    if (!isIdle && !job.isAborted) {
      job.isTimedOut = true;
      const busy = this.sessionsOn(node);
      if (job.onTimeout === 'cancel') {
        for (const s of busy) {
          if (s.attached !== null && !s.attached.ops.isEmpty) {
            s.cancelCurrent();
            cancelled++;
          }
        }
        isIdle = await this.waitIdle(job, Date.now() + CANCEL_GRACE_MS);
        if (!isIdle && !job.isAborted) {
          for (const s of this.sessionsOn(node)) {
            s.close('node drained', Errors.nodeDrained(node));
            closed++;
          }
        }
      } else {
        left = busy.length;
      }
    }
    const waitedMs = Date.now() - job.startedAtMs;
    if (job.isAborted) {
      return { node, outcome: 'undrained', state: h.topology.snapshot.byName.get(node)?.state ?? 'removed', waitedMs, cancelled, closed, left };
    }
    h.topology.setAdminState(node, 'drained', job.isTimedOut ? `drain timed out after ${job.timeoutMs} ms (${h.config.drain.onTimeout})` : 'no work left');
    h.logger.info({ node, waitedMs, cancelled, closed, left }, 'drain finished');
    return { node, outcome: 'drained', state: 'drained', waitedMs, cancelled, closed, left };
  }

  private canReadmit(n: NodeSnapshot): boolean {
    return n.isUp && n.role !== 'unknown' && n.lagMs !== null && n.lagMs <= this.host.config.routing.readmitMaxLagMs;
  }

  /**
   * Readmits a `catching-up` node that is already caught up. Later readmission is the health
   * monitor's: after each probe it moves a caught-up node to `active` (one owner for that step).
   */
  private readmitIfCaughtUp(node: string): void {
    const t = this.host.topology;
    const n = t.snapshot.byName.get(node);
    if (n === undefined || n.state !== 'catching-up' || !this.canReadmit(n)) return;
    t.setAdminState(node, 'active', `caught up: lag ${Math.round(n.lagMs ?? 0)} ms ≤ readmit_max_lag ${this.host.config.routing.readmitMaxLagMs} ms`);
  }
}
