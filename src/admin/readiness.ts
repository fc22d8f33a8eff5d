// Whether a write target exists right now: the router's own write decision for a session with no
// residency and no hint, so /readyz agrees exactly with what a client's next write would get.

import { route } from '../router/route.js';
import type { Meridian } from '../server.js';

export type WriteTarget = { readonly ok: true; readonly node: string } | { readonly ok: false; readonly reason: string };

export function writeTarget(m: Meridian): WriteTarget {
  const d = route(
    { intent: 'write', hint: null },
    m.snapshot(),
    { allowedRegions: null, residencyRule: null, clientRegion: null, sessionHint: null },
    m.policy,
    m.pools.activeBackends,
  );
  return d.ok ? { ok: true, node: d.node } : { ok: false, reason: d.reason };
}
