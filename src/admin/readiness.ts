// Whether a write target exists right now: the router's own write decision for a session with no
// residency and no hint, so /readyz agrees exactly with what a client's next write would get.

import { route } from '../router/route.js';
import type { AdminHost } from './types.js';

export type WriteTarget = { readonly ok: true; readonly node: string } | { readonly ok: false; readonly reason: string };

export function writeTarget(m: Pick<AdminHost, 'topology' | 'routeInputs'>): WriteTarget {
  const r = m.routeInputs();
  const d = route(
    { intent: 'write', hint: null },
    m.topology.snapshot,
    { allowedRegions: null, residencyRule: null, clientRegion: null, sessionHint: null },
    r.policy,
    r.activeBackends,
  );
  return d.ok ? { ok: true, node: d.node } : { ok: false, reason: d.reason };
}
