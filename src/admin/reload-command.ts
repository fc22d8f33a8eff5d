// RELOAD (and, when the process wires it, SIGHUP): the config file is read and validated once; a
// bad file keeps the running config and the error goes to the log and the admin reply. With a
// good file, the nodes it removes are drained first, then that same config is applied (one read,
// one decision: a file saved again meanwhile waits for the next reload).

import { describeReload } from '../config/reload-diff.js';
import { Errors } from '../errors.js';
import type { ReloadResult } from '../reload.js';
import type { Drains } from './drain.js';
import { text, type AdminTable } from './table.js';
import type { AdminHost } from './types.js';

export interface AdminReloadResult extends ReloadResult {
  readonly drainedNodes: readonly string[];
}

/** One reload at a time; a RELOAD during another waits for it and then runs. */
export class Reloads {
  private last: Promise<AdminReloadResult> | null = null;

  constructor(
    private readonly host: AdminHost,
    private readonly drains: Drains,
  ) {}

  reload(): Promise<AdminReloadResult> {
    const prev = this.last ?? Promise.resolve(null);
    const next = prev.catch(() => null).then(() => this.reloadOnce());
    this.last = next;
    return next;
  }

  private async reloadOnce(): Promise<AdminReloadResult> {
    const h = this.host;
    const read = h.readConfig();
    if (!read.ok) return { ...read.failure, drainedNodes: [] };
    const next = read.config;
    const removed = describeReload(h.config, next).removedNodes;
    if (removed.length > 0) {
      h.logger.info({ nodes: removed }, 'draining nodes removed from config');
      await this.drains.drainForRemoval(removed);
    }
    const r = h.applyConfig(next);
    // Pools of removed nodes stay in the pool manager; let them open again if the node comes back.
    if (r.ok) for (const n of removed) h.pools.setNodeDraining(n, false);
    return { ...r, drainedNodes: removed };
  }
}

export async function reloadCommand(reloads: Reloads): Promise<AdminTable> {
  const r = await reloads.reload();
  if (!r.ok) throw Errors.adminFailed(`reload failed; the running configuration is unchanged: ${r.message}`);
  const restart = new Set(r.needsRestart);
  const rows: Array<[string, string]> = r.changes.map((c) => [c, restart.has(c) ? 'needs restart (not applied)' : 'applied']);
  for (const n of r.drainedNodes) rows.push([`cluster.nodes[${n}]`, 'drained, then removed']);
  if (rows.length === 0) rows.push(['(none)', 'no changes']);
  return { columns: [text('key'), text('result')], rows, tag: 'RELOAD' };
}
