// Switchovers: a planned change of primary through Patroni (cluster.patroni) that clients do not
// see, one at a time per process, for SWITCHOVER TO (switchover-command.ts) and
// POST /nodes/:name/switchover. In order: new writes are held (the topology's writesHeld; they wait
// up to routing.write_wait, reads go on); the transactions running on the old primary (its busy
// backends) get up to the timeout (default cluster.patroni.switchover_timeout) to finish; Patroni is
// asked (POST /switchover); Meridian follows the promotion (Patroni's new leader, out of recovery by
// its probe) and releases the held writes onto it. Transactions the old primary's shutdown still
// ends are replayed with routing.transaction_replay. Without Patroni: 0A000. In a worker of several
// (each holds its own backends, and only the primary reads Patroni): 0A000. The hold is released
// whatever happens.

import { Errors } from '../errors.js';
import type { HttpResult } from '../patroni/patroni-client.js';
import type { PatroniSource } from '../patroni/patroni-source.js';
import type { AdminHost } from './types.js';

export interface SwitchoverResult {
  readonly node: string;
  /** The old primary (its node name, or Patroni's member name when no node matches it). */
  readonly from: string;
  readonly outcome: 'done';
  /** How long the transactions running on the old primary were waited for. */
  readonly waitedMs: number;
  /** Busy backends still on the old primary when Patroni was asked (their transactions are replayed, or fail). */
  readonly left: number;
  /** From the hold to the release. */
  readonly heldMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Switchovers {
  private isRunning = false;

  constructor(private readonly host: AdminHost) {}

  /** Switch the primary over to `node`; resolves once it takes writes, or throws a MeridianError. */
  async switchTo(node: string, timeoutMs?: number): Promise<SwitchoverResult> {
    const host = this.host;
    if (host.fleet !== null) {
      throw Errors.featureNotSupported(
        'SWITCHOVER TO is not supported with workers > 1 (each worker holds its own backends); use Patroni (patronictl switchover): Meridian follows it',
      );
    }
    const patroni = host.patroni();
    if (patroni === null) {
      throw Errors.featureNotSupported(
        'SWITCHOVER TO needs cluster.patroni: Meridian asks Patroni to promote the node and follows it (without Patroni nothing can promote a standby)',
      );
    }
    const snap = host.topology.snapshot;
    if (!snap.byName.has(node)) throw Errors.invalidParameter(`SWITCHOVER TO: unknown node "${node}" (nodes: ${snap.nodes.map((n) => n.name).join(', ')})`);
    if (this.isRunning) throw Errors.adminFailed('a switchover is already under way');
    this.isRunning = true;
    try {
      return await this.run(node, timeoutMs ?? patroni.config.switchoverTimeoutMs, patroni);
    } finally {
      this.isRunning = false;
    }
  }

  private async run(node: string, timeoutMs: number, patroni: PatroniSource): Promise<SwitchoverResult> {
    const host = this.host;
    await patroni.pollNow();
    const view = patroni.view;
    if (view === null) throw Errors.adminFailed(`Patroni does not answer (${patroni.lastError ?? 'no view yet'}): no switchover`);
    const target = patroni.memberOf(node);
    if (target === undefined)
      throw Errors.adminFailed(`node "${node}" is not a member of the Patroni cluster (members: ${view.members.map((m) => m.name).join(', ')})`);
    const leader = view.members.find((m) => m.role === 'leader');
    if (leader === undefined) throw Errors.adminFailed('Patroni reports no leader: no switchover (a failover may be under way)');
    if (leader.name === target.name) throw Errors.adminFailed(`node "${node}" is already the primary`);
    const from = host.topology.snapshot.nodes.find((n) => patroni.memberOf(n.name)?.name === leader.name)?.name ?? null;
    const log = host.logger.child({ component: 'switchover' });
    const t0 = Date.now();
    host.topology.holdWrites('switchover', `switchover to ${node} under way (SWITCHOVER TO)`);
    log.warn({ from: from ?? leader.name, to: node }, 'switchover started: writes held');
    try {
      // What runs on the old primary finishes there; nothing new starts (writes are held).
      let left = from === null ? 0 : host.pools.activeBackends(from);
      while (left > 0 && Date.now() - t0 < timeoutMs) {
        await sleep(20);
        left = host.pools.activeBackends(from!);
      }
      const waitedMs = Date.now() - t0;
      if (left > 0) log.warn({ node: from, left }, 'switchover: transactions still running on the old primary at the timeout');
      // Patroni answers POST /switchover only after polling its DCS once a second: the promotion is
      // followed meanwhile, so the held writes go to the new primary as soon as it takes them (the
      // request ends on its own, within the timeout, if it is still pending then).
      let answer: HttpResult | null = null;
      void patroni.switchover(leader.name, target.name, timeoutMs).then((r) => (answer = r));
      const refused = (): string | null => {
        const r = answer as HttpResult | null;
        if (r === null || (r.ok && r.status === 200)) return null;
        return r.ok ? `HTTP ${r.status}: ${r.body.slice(0, 200)}` : r.error;
      };
      const isPromoted = await this.followPromotion(node, patroni, Date.now() + timeoutMs, () => refused() !== null);
      const why = refused();
      if (why !== null) {
        host.metrics.switchovers.inc({ result: 'failed' });
        throw Errors.adminFailed(`Patroni did not switch over to "${node}": ${why}`);
      }
      if (!isPromoted) {
        host.metrics.switchovers.inc({ result: 'failed' });
        throw Errors.adminFailed(`"${node}" did not take writes within ${timeoutMs} ms of asking Patroni for the switchover`);
      }
      host.metrics.switchovers.inc({ result: 'done' });
      const heldMs = Date.now() - t0;
      log.warn({ from, to: node, waitedMs, heldMs, leftRunning: left }, 'switchover done: writes released');
      return { node, from: from ?? leader.name, outcome: 'done', waitedMs, left, heldMs };
    } finally {
      host.topology.holdWrites('switchover', null);
    }
  }

  /** Until the node is up and a master in the topology (Patroni's leader, its probe out of recovery), Patroni refused, or the deadline. */
  private async followPromotion(node: string, patroni: PatroniSource, deadlineMs: number, isRefused: () => boolean): Promise<boolean> {
    for (;;) {
      const n = this.host.topology.snapshot.byName.get(node);
      if (n !== undefined && n.isUp && n.role === 'master' && !n.isSplitBrain) return true;
      if (Date.now() >= deadlineMs || isRefused()) return false;
      await patroni.pollNow();
      await sleep(50);
    }
  }
}
