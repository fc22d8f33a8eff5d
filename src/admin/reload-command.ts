// RELOAD (and, when the process wires it, SIGHUP): validate the config file first; a bad file
// keeps the running config and the error goes to the log and the admin reply. Nodes the new
// file removes are drained before the new config applies; the rest is Meridian.reload().

import { describeReload } from '../config/reload-diff.js';
import { loadConfigFile } from '../config/load-config.js';
import type { MeridianConfig } from '../config/types.js';
import { Errors } from '../errors.js';
import type { ReloadResult } from '../reload.js';
import type { Meridian } from '../server.js';
import { drainForRemoval } from './drain.js';
import { text, type AdminTable } from './table.js';

export interface AdminReloadResult extends ReloadResult {
  readonly drainedNodes: readonly string[];
}

const inFlight = new WeakMap<Meridian, Promise<AdminReloadResult>>();

async function reloadOnce(m: Meridian): Promise<AdminReloadResult> {
  if (m.configPath !== null) {
    let next: MeridianConfig;
    try {
      next = loadConfigFile(m.configPath);
    } catch {
      // Meridian.reload() re-reads the file, counts and logs the failure, and reports it.
      return { ...m.reload(), drainedNodes: [] };
    }
    const removed = describeReload(m.config, next).removedNodes;
    if (removed.length > 0) {
      m.logger.info({ nodes: removed }, 'draining nodes removed from config');
      await drainForRemoval(m, removed);
    }
    const r = m.reload();
    // Pools of removed nodes stay in the pool manager; let them open again if the node comes back.
    if (r.ok) for (const n of removed) m.pools.setNodeDraining(n, false);
    return { ...r, drainedNodes: removed };
  }
  return { ...m.reload(), drainedNodes: [] };
}

/** One reload at a time; a RELOAD during another waits for it and then runs. */
export function reloadConfig(m: Meridian): Promise<AdminReloadResult> {
  const prev = inFlight.get(m) ?? Promise.resolve(null);
  const next = prev.catch(() => null).then(() => reloadOnce(m));
  inFlight.set(m, next);
  return next;
}

export async function reloadCommand(m: Meridian): Promise<AdminTable> {
  const r = await reloadConfig(m);
  if (!r.ok) throw Errors.adminFailed(`reload failed; the running configuration is unchanged: ${r.message}`);
  const restart = new Set(r.needsRestart);
  const rows: Array<[string, string]> = r.changes.map((c) => [c, restart.has(c) ? 'needs restart (not applied)' : 'applied']);
  for (const n of r.drainedNodes) rows.push([`cluster.nodes[${n}]`, 'drained, then removed']);
  if (rows.length === 0) rows.push(['(none)', 'no changes']);
  return { columns: [text('key'), text('result')], rows, tag: 'RELOAD' };
}
