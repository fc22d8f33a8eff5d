// PatroniSource: reads Patroni's GET /cluster every cluster.patroni.interval (4× as often while a
// switchover is under way) from the first URL that answers, starting with the last one that did,
// and hands the checked view on: the members matched to configured nodes go to the health monitor
// (roles combine with probes there, patroni-policy.ts), and a switchover Patroni reports holds new
// writes in the topology store. When no URL answers, or an answer is not a cluster view, the last
// view stays (roles as last known; probes still decide reachability) and a hold Patroni's view had
// set is released, so writes are never held on a view that can no longer change; so is a hold that
// outlasts cluster.patroni.switchover_timeout. Logged once per change ("patroni unreachable",
// "patroni answers again"). Also POST /switchover for SWITCHOVER TO.

import type { NodeConfig, PatroniConfig } from '../config/types.js';
import { silentLogger, type Logger } from '../logger.js';
import type { WriteHoldSource } from '../topology/topology-store.js';
import { parseClusterView, type PatroniMember, type PatroniView } from './cluster-view.js';
import { patroniRequest, type HttpResult } from './patroni-client.js';
import { matchMembers, membersInTransition, switchoverUnderWay } from './patroni-policy.js';

/** Where the view goes: the health monitor (members per node) and the store (the write hold). */
export interface PatroniSink {
  setPatroniMembers(members: ReadonlyMap<string, PatroniMember> | null): void;
  holdWrites(source: WriteHoldSource, reason: string | null): boolean;
}

export interface PatroniCounters {
  readonly patroniPolls?: { inc(labels: { result: string }): void };
}

export class PatroniSource {
  private cfg: PatroniConfig;
  private nodes: readonly NodeConfig[];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private isRunning = false;
  private polling: Promise<void> | null = null;
  /** Index of the URL that answered last: tried first next time. */
  private preferred = 0;
  private leader: string | null = null;
  private isHolding = false;
  /** When the view's switchover signal began (ms), for the bound on its hold; null while none. */
  private signalSinceMs: number | null = null;
  /** The last good view and when it came; null until one did. */
  view: PatroniView | null = null;
  viewAtMs: number | null = null;
  /** Why the last poll failed; null after a good one. */
  lastError: string | null = null;

  constructor(
    cfg: PatroniConfig,
    nodes: readonly NodeConfig[],
    private readonly sink: PatroniSink,
    private readonly log: Logger = silentLogger,
    private readonly counters: PatroniCounters | null = null,
  ) {
    this.cfg = cfg;
    this.nodes = nodes;
  }

  get config(): PatroniConfig {
    return this.cfg;
  }

  /** The member Patroni reports for a configured node, from the last good view. */
  memberOf(node: string): PatroniMember | undefined {
    return this.view === null ? undefined : matchMembers(this.view, this.nodes).get(node);
  }

  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.isRunning = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
  }

  /** A reload: new settings and nodes (taken at the next poll; a pending wait is shortened to the new interval). */
  applyConfig(cfg: PatroniConfig, nodes: readonly NodeConfig[]): void {
    this.cfg = cfg;
    this.nodes = nodes;
    this.preferred = 0;
    if (this.isRunning && this.polling === null) this.schedule(this.currentIntervalMs());
  }

  /** Poll now (after one in flight); resolves when done. */
  async pollNow(): Promise<void> {
    if (this.polling !== null) await this.polling;
    if (!this.isRunning) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.run();
  }

  /** POST /switchover {leader, candidate} to each URL in turn until one answers; Patroni's status and text. */
  async switchover(leader: string, candidate: string, timeoutMs: number): Promise<HttpResult> {
    let last: HttpResult = { ok: false, error: 'no Patroni URL configured' };
    for (const url of this.urlsInTurn()) {
      last = await patroniRequest(`${url}/switchover`, timeoutMs, { method: 'POST', json: { leader, candidate } });
      if (last.ok) return last;
    }
    return last;
  }

  private currentIntervalMs(): number {
    return this.isHolding ? Math.max(50, Math.floor(this.cfg.intervalMs / 4)) : this.cfg.intervalMs;
  }

  private schedule(delayMs: number): void {
    if (!this.isRunning) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, delayMs);
    this.timer.unref?.();
  }

  private run(): Promise<void> {
    if (this.polling !== null) return this.polling;
    const p = this.pollOnce()
      .catch((err: unknown) => this.log.error({ err }, 'patroni poll failed'))
      .finally(() => {
        this.polling = null;
        this.schedule(this.currentIntervalMs());
      });
    this.polling = p;
    return p;
  }

  private urlsInTurn(): string[] {
    const urls = this.cfg.urls;
    const first = this.preferred < urls.length ? this.preferred : 0;
    return [...urls.slice(first), ...urls.slice(0, first)];
  }

  private async pollOnce(): Promise<void> {
    const errors: string[] = [];
    let invalid = false;
    const urls = this.urlsInTurn();
    for (const url of urls) {
      const res = await patroniRequest(`${url}/cluster`, this.cfg.timeoutMs);
      if (!this.isRunning) return;
      if (!res.ok) {
        errors.push(`${url}: ${res.error}`);
        continue;
      }
      if (res.status !== 200) {
        errors.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      const view = parseClusterView(res.body);
      if (typeof view === 'string') {
        invalid = true;
        errors.push(`${url}: ${view}`);
        continue;
      }
      this.preferred = this.cfg.urls.indexOf(url);
      this.accept(view);
      return;
    }
    this.counters?.patroniPolls?.inc({ result: invalid ? 'invalid' : 'unreachable' });
    this.fail(errors.join('; '));
  }

  private accept(view: PatroniView): void {
    this.counters?.patroniPolls?.inc({ result: 'ok' });
    if (this.lastError !== null) this.log.info({ wasDown: this.lastError }, 'patroni answers again');
    this.lastError = null;
    const now = Date.now();
    const leader = view.members.find((m) => m.role === 'leader')?.name ?? null;
    if (leader !== this.leader && this.view !== null) this.log.warn({ from: this.leader, to: leader }, 'patroni leader changed');
    const signal = switchoverUnderWay(view, leader ?? this.leader, now, 2 * this.cfg.intervalMs);
    if (signal === null) this.signalSinceMs = null;
    else if (this.signalSinceMs === null) this.signalSinceMs = now;
    // A switchover that does not end within switchover_timeout (a scheduled one Patroni cannot carry
    // out, a cluster left without a leader) holds writes no longer: they route as the roles allow.
    const isOverdue = signal !== null && now - (this.signalSinceMs ?? now) > this.cfg.switchoverTimeoutMs;
    const hold = isOverdue ? null : signal;
    if (hold !== null && !this.isHolding) this.log.warn({ reason: hold, members: membersInTransition(view) }, 'patroni switchover under way');
    if (isOverdue && this.isHolding)
      this.log.warn(
        { reason: signal, timeoutMs: this.cfg.switchoverTimeoutMs },
        'patroni switchover not over within switchover_timeout: writes no longer held',
      );
    this.isHolding = hold !== null;
    if (leader !== null) this.leader = leader;
    this.view = view;
    this.viewAtMs = now;
    this.sink.setPatroniMembers(matchMembers(view, this.nodes));
    this.sink.holdWrites('patroni', hold);
  }

  private fail(error: string): void {
    if (this.lastError === null) this.log.warn({ error, lastViewAtMs: this.viewAtMs }, 'patroni unreachable: keeping the last known topology');
    this.lastError = error;
    if (this.isHolding) {
      this.isHolding = false;
      this.sink.holdWrites('patroni', null);
    }
  }
}
