// SHOW ROUTES: where a read and a write would go right now, for a session no residency rule
// matches ("*") and for each residency rule — the router's own decision on the current
// snapshot, with its reason or refusal. Reads only.

import { route } from '../router/route.js';
import type { RouteIntent, SessionRouteContext } from '../router/types.js';
import { text, type AdminTable } from './table.js';
import type { AdminHost } from './types.js';

export function showRoutes(m: Pick<AdminHost, 'config' | 'topology' | 'routeInputs'>): AdminTable {
  const snap = m.topology.snapshot;
  const r = m.routeInputs();
  const scopes: Array<[string, string, SessionRouteContext]> = [
    ['*', '(all)', { allowedRegions: null, residencyRule: null, clientRegion: null, sessionHint: null }],
    ...m.config.residency.rules.map((rule): [string, string, SessionRouteContext] => [
      rule.name,
      rule.regions.join(', '),
      { allowedRegions: new Set(rule.regions), residencyRule: rule.name, clientRegion: null, sessionHint: null },
    ]),
  ];
  const rows: Array<Array<string | null>> = [];
  for (const [name, regions, ctx] of scopes) {
    for (const intent of ['write', 'read'] as RouteIntent[]) {
      const d = route({ intent, hint: null }, snap, ctx, r.policy, r.activeBackends, r.lastRouted);
      rows.push([name, regions, intent, d.ok ? d.node : null, d.ok ? 'ok' : d.refusal, d.reason]);
    }
  }
  return { columns: [text('residency'), text('regions'), text('class'), text('node'), text('result'), text('reason')], rows };
}
