// SHOW ROUTES: where a read and a write would go right now, for a session no residency rule
// matches ("*") and for each residency rule — the router's own decision on the current
// snapshot, with its reason or refusal. Reads only.

import { route } from '../router/route.js';
import type { RouteIntent, SessionRouteContext } from '../router/types.js';
import type { Meridian } from '../server.js';
import { text, type AdminTable } from './table.js';

export function showRoutes(m: Meridian): AdminTable {
  const snap = m.snapshot();
  const scopes: Array<[string, string, SessionRouteContext]> = [
    ['*', '(all)', { allowedRegions: null, residencyRule: null, clientRegion: null, sessionHint: null }],
    ...m.config.residency.rules.map((r): [string, string, SessionRouteContext] => [
      r.name, r.regions.join(', '), { allowedRegions: new Set(r.regions), residencyRule: r.name, clientRegion: null, sessionHint: null },
    ]),
  ];
  const rows: Array<Array<string | null>> = [];
  for (const [name, regions, ctx] of scopes) {
    for (const intent of ['write', 'read'] as RouteIntent[]) {
      const d = route({ intent, hint: null }, snap, ctx, m.policy, m.pools.activeBackends, m.routeRecency.lastRoutedSeq);
      rows.push([name, regions, intent, d.ok ? d.node : null, d.ok ? 'ok' : d.refusal, d.reason]);
    }
  }
  return { columns: [text('residency'), text('regions'), text('class'), text('node'), text('result'), text('reason')], rows };
}
