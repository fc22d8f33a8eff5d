// Topology change events: what the store emits (to listeners and to the optional metrics hook)
// and how each is logged, once, with a stable phrase. Pure data + one logging function.

import type { Logger } from '../logger.js';
import type { AdminState, NodeRole } from './types.js';

export type TopologyEvent =
  | { readonly type: 'node-up'; readonly node: string; readonly reason: string }
  | { readonly type: 'node-down'; readonly node: string; readonly reason: string } // failed `fall` probes
  | { readonly type: 'node-evicted'; readonly node: string; readonly reason: string } // passive, from live traffic
  | { readonly type: 'role-changed'; readonly node: string; readonly from: NodeRole; readonly to: NodeRole }
  | { readonly type: 'master-changed'; readonly before: readonly string[]; readonly after: readonly string[] }
  | { readonly type: 'split-brain'; readonly node: string; readonly preferred: string }
  | { readonly type: 'split-brain-resolved'; readonly node: string }
  | { readonly type: 'state-changed'; readonly node: string; readonly from: AdminState; readonly to: AdminState; readonly reason: string }
  | { readonly type: 'node-added'; readonly node: string }
  | { readonly type: 'node-removed'; readonly node: string; readonly reason: string }
  | { readonly type: 'writes-held'; readonly reason: string }
  | { readonly type: 'writes-released'; readonly heldMs: number };

/** Injected by metrics (evictions, failovers, …); kept out of topology so it imports no metrics. */
export interface TopologyHooks {
  onEvent(ev: TopologyEvent): void;
}

const STATE_PHRASE: Record<AdminState, string> = {
  active: 'node readmitted',
  draining: 'node draining',
  drained: 'node drained',
  'catching-up': 'node catching up',
};

/** Log one event with its stable phrase. */
export function logTopologyEvent(log: Logger, ev: TopologyEvent): void {
  switch (ev.type) {
    case 'node-up':
      log.info({ node: ev.node, reason: ev.reason }, 'node up');
      break;
    case 'node-down':
      log.warn({ node: ev.node, reason: ev.reason }, 'node down');
      break;
    case 'node-evicted':
      log.warn({ node: ev.node, reason: ev.reason }, 'node evicted');
      break;
    case 'role-changed':
      log.info({ node: ev.node, from: ev.from, to: ev.to }, 'role changed');
      break;
    case 'master-changed':
      log.warn({ before: ev.before, after: ev.after }, 'master changed');
      break;
    case 'split-brain':
      log.error(
        { node: ev.node, preferred: ev.preferred, reason: `${ev.node} claims master while ${ev.preferred} is master; writes stay on ${ev.preferred}` },
        'split brain',
      );
      break;
    case 'split-brain-resolved':
      log.info({ node: ev.node }, 'split brain resolved');
      break;
    case 'state-changed':
      log.info({ node: ev.node, from: ev.from, to: ev.to, reason: ev.reason }, STATE_PHRASE[ev.to]);
      break;
    case 'node-added':
      log.info({ node: ev.node }, 'node added');
      break;
    case 'node-removed':
      log.info({ node: ev.node, reason: ev.reason }, 'node removed');
      break;
    case 'writes-held':
      log.warn({ reason: ev.reason }, 'writes held');
      break;
    case 'writes-released':
      log.info({ heldMs: ev.heldMs }, 'writes released');
      break;
  }
}
