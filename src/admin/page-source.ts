// Gathers the operator page's state for GET /ui/state: SHOW NODES and SHOW RESIDENCY over the whole
// instance (every worker's counts, as the console answers them), the snapshot's split-brain flags,
// one rate sample and the event log, then the pure builder (page-state.ts). Reads only.

import type { AdminConsole } from './console.js';
import { buildPageState, routedCounts, type PageState } from './page-state.js';
import { tableObjects } from './table.js';

/** How often the page polls; the brief of the page is "at least once a second". */
export const PAGE_POLL_MS = 1_000;

export async function gatherPageState(a: AdminConsole, nowMs = Date.now()): Promise<PageState> {
  const [nodesTable, residencyTable] = await Promise.all([a.instanceTable('SHOW NODES'), a.instanceTable('SHOW RESIDENCY')]);
  const nodes = tableObjects(nodesTable);
  const splitBrain = new Set(a.host.topology.snapshot.nodes.filter((n) => n.isSplitBrain).map((n) => n.name));
  return buildPageState({
    nowMs,
    pollMs: PAGE_POLL_MS,
    nodes,
    residency: tableObjects(residencyTable),
    splitBrain,
    rates: a.pageRates.observe(nowMs, routedCounts(nodes)),
    events: a.events.list(),
  });
}
