// SHOW FLEET: the Meridian instances of the etcd fleet (`fleet:`) as this instance last read them,
// itself first, and its own fleet status in `status` (ok, or stale since when and why). Without
// `fleet:` one row says so. GET /fleet answers the same facts as JSON (fleetJson).

import { Errors } from '../errors.js';
import type { FleetStatus, InstanceFleet } from './instance-fleet.js';
import { bool, int, text, type AdminTable } from './table.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** "n1 master active up; n2 replica drained up": one instance's view of the nodes. */
export function topologyText(topology: Readonly<Record<string, string>>): string {
  return Object.entries(topology)
    .map(([node, s]) => `${node} ${s}`)
    .join('; ');
}

/** This instance's fleet status as one cell: `ok`, or `stale since <time>: <why>`. */
export function statusText(s: FleetStatus): string {
  const text = s.status === 'ok' ? 'ok' : `stale since ${iso(s.staleSinceMs) ?? '?'}: ${s.lastError ?? 'unknown'}`;
  return s.warning === null ? text : `${text}; warning: ${s.warning}`;
}

export function showFleet(fleet: InstanceFleet | null): AdminTable {
  if (fleet === null) throw Errors.adminFailed('this instance is not part of a fleet (no fleet: section in its config)');
  const s = fleet.status();
  const now = Date.now();
  return {
    columns: [
      text('instance'),
      bool('self'),
      text('region'),
      text('version'),
      text('started_at'),
      int('uptime_s'),
      text('last_heartbeat'),
      int('heartbeat_age_ms'),
      text('topology'),
      text('drained'),
      text('status'),
    ],
    rows: s.members.map((m) => [
      m.instance,
      m.isSelf,
      m.region,
      m.version,
      iso(m.startedAtMs),
      Math.max(0, Math.round((now - m.startedAtMs) / 1000)),
      iso(m.heartbeatAtMs),
      Math.max(0, now - m.heartbeatAtMs),
      topologyText(m.topology),
      s.drained.join(', '),
      m.isSelf ? statusText(s) : s.status === 'ok' ? 'live' : 'last known',
    ]),
  };
}

/** GET /fleet. */
export function fleetJson(fleet: InstanceFleet | null): unknown {
  if (fleet === null) return { fleet: null, message: 'this instance is not part of a fleet (no fleet: section)' };
  const s = fleet.status();
  const now = Date.now();
  return {
    instance: s.instance,
    status: s.status,
    staleSince: iso(s.staleSinceMs),
    lastError: s.lastError,
    lastSync: iso(s.lastSyncAtMs),
    warning: s.warning,
    drained: s.drained,
    members: s.members.map((m) => ({
      instance: m.instance,
      self: m.isSelf,
      region: m.region,
      version: m.version,
      startedAt: iso(m.startedAtMs),
      uptimeS: Math.max(0, Math.round((now - m.startedAtMs) / 1000)),
      lastHeartbeat: iso(m.heartbeatAtMs),
      heartbeatAgeMs: Math.max(0, now - m.heartbeatAtMs),
      topology: m.topology,
    })),
  };
}
