// SHOW FLEET and GET /fleet from a fleet status: this instance first, its own status spelled
// out (ok / stale since … : why), the others live or last known; without a fleet, a clear answer.
import { describe, expect, it } from 'vitest';
import type { FleetStatus, InstanceFleet } from '../../../src/admin/instance-fleet.js';
import { fleetJson, showFleet } from '../../../src/admin/show-fleet.js';

function fakeFleet(status: Partial<FleetStatus>): InstanceFleet {
  const s: FleetStatus = {
    instance: 'a',
    status: 'ok',
    staleSinceMs: null,
    lastError: null,
    lastSyncAtMs: 1_000,
    warning: null,
    drained: ['n2'],
    members: [
      {
        instance: 'a',
        isSelf: true,
        region: 'eu',
        version: '0.1.0',
        startedAtMs: Date.now() - 60_000,
        heartbeatAtMs: Date.now(),
        topology: { n1: 'master active up', n2: 'master drained up' },
      },
      { instance: 'b', isSelf: false, region: null, version: '0.1.0', startedAtMs: Date.now() - 5_000, heartbeatAtMs: Date.now() - 800, topology: {} },
    ],
    ...status,
  };
  return { status: () => s, drain: () => Promise.reject(new Error('no')), undrain: () => Promise.reject(new Error('no')) };
}

describe('SHOW FLEET', () => {
  it('lists the instances, this one first, with its status and the fleet drained set', () => {
    const t = showFleet(fakeFleet({}));
    const col = (name: string) => t.columns.findIndex((c) => c.name === name);
    expect(t.rows).toHaveLength(2);
    expect(t.rows[0]![col('instance')]).toBe('a');
    expect(t.rows[0]![col('self')]).toBe(true);
    expect(t.rows[0]![col('status')]).toBe('ok');
    expect(t.rows[0]![col('topology')]).toBe('n1 master active up; n2 master drained up');
    expect(t.rows[0]![col('uptime_s')]).toBeGreaterThanOrEqual(59);
    expect(t.rows[1]![col('status')]).toBe('live');
    expect(t.rows[1]![col('drained')]).toBe('n2');
  });

  it('stale: since when and why on this row, "last known" on the others', () => {
    const t = showFleet(
      fakeFleet({ status: 'stale', staleSinceMs: Date.UTC(2026, 11, 7, 12, 0, 0), lastError: 'read /m/drains/: no answer from etcd within 1000 ms' }),
    );
    const col = t.columns.findIndex((c) => c.name === 'status');
    expect(t.rows[0]![col]).toBe('stale since 2026-12-07T12:00:00.000Z: read /m/drains/: no answer from etcd within 1000 ms');
    expect(t.rows[1]![col]).toBe('last known');
  });

  it('without a fleet: 55000 saying so; GET /fleet: fleet null', () => {
    expect(() => showFleet(null)).toThrow(/not part of a fleet/);
    expect(fleetJson(null)).toMatchObject({ fleet: null });
    expect(fleetJson(fakeFleet({}))).toMatchObject({
      instance: 'a',
      status: 'ok',
      drained: ['n2'],
      members: [
        { instance: 'a', self: true },
        { instance: 'b', self: false },
      ],
    });
  });

  it('a warning (a name used twice) follows the status', () => {
    const t = showFleet(fakeFleet({ warning: 'another process registers the same fleet.instance "a"' }));
    expect(t.rows[0]![t.columns.findIndex((c) => c.name === 'status')]).toBe('ok; warning: another process registers the same fleet.instance "a"');
  });
});
