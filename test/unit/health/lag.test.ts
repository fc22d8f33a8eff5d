import { describe, expect, it } from 'vitest';
import { logicalLag, pglogicalLagBytes, physicalLag, spockLag, type LagInput } from '../../../src/health/lag.js';
import type { RawProbe } from '../../../src/health/probe-result.js';
import { raw } from './fake-health.js';

const input = (name: string, r: Partial<RawProbe>, role: LagInput['role'] = 'replica'): LagInput => ({ name, isUp: true, role, raw: raw(r) });
const master = (lsn: number) => input('p', { currentLsn: lsn }, 'master');

describe('physical lag', () => {
  it('a master has lag 0', () => {
    expect(physicalLag(master(100), null, null)).toMatchObject({ lagMs: 0, lagBytes: 0 });
  });

  it('idle master, standby caught up: 0 even though the last replayed xact is old (pitfall 10)', () => {
    const s = input('s', { receiveLsn: 500, replayLsn: 500, replayAgeMs: 4_700 });
    expect(physicalLag(s, master(500), null)).toEqual({ lagMs: 0, lagBytes: 0, isCaughtUp: true });
  });

  it('replay paused while the master writes: the replay age and bytes grow', () => {
    const s = input('s', { receiveLsn: 9_000, replayLsn: 5_000, replayAgeMs: 3_178, receivedAtMs: 10_000 });
    expect(physicalLag(s, master(9_500), 9_000)).toEqual({ lagMs: 3_178, lagBytes: 4_500, isCaughtUp: false });
  });

  it('no replay backlog but behind the master (non-xact WAL on an idle master): capped by time since caught up', () => {
    const s = input('s', { receiveLsn: 5_000, replayLsn: 5_000, replayAgeMs: 3_600_000, receivedAtMs: 20_000 });
    expect(physicalLag(s, master(5_200), 19_000)).toMatchObject({ lagMs: 1_000, lagBytes: 200 });
  });

  it('standby never probed or down: unknown', () => {
    expect(physicalLag({ name: 's', isUp: true, role: 'replica', raw: null }, master(1), null)).toMatchObject({ lagMs: null });
  });
});

describe('logical lag', () => {
  const provider = input(
    'p',
    {
      replication: [
        { name: 'sub_s', replayLagMs: 250, bytes: 800 },
        { name: 'idle_sub', replayLagMs: null, bytes: 0 },
      ],
    },
    'master',
  );
  it("is the provider's replay_lag for the subscriber's subscriptions", () => {
    expect(logicalLag(input('s', { subscriptions: ['sub_s'] }), [provider])).toEqual({ lagMs: 250, lagBytes: 800 });
  });
  it('NULL replay_lag with nothing pending is 0; a subscription no provider reports is unknown', () => {
    expect(logicalLag(input('s', { subscriptions: ['idle_sub'] }), [provider])).toEqual({ lagMs: 0, lagBytes: 0 });
    expect(logicalLag(input('s', { subscriptions: ['gone'] }), [provider])).toEqual({ lagMs: null, lagBytes: null });
  });
  it('a node without subscriptions (publisher) has lag 0', () => {
    expect(logicalLag(input('p', { subscriptions: null }, 'master'), [])).toEqual({ lagMs: 0, lagBytes: 0 });
  });
});

describe('pglogical bytes and spock', () => {
  it('pglogical: worst provider slot lag among this node’s subscription slots', () => {
    const p1 = input(
      'n1',
      {
        slots: [
          { slot: 'pgl_app_n1_n2_from_n1', bytes: 648 },
          { slot: 'pgl_app_n1_n3_from_n1', bytes: 5 },
        ],
      },
      'master',
    );
    const p3 = input('n3', { slots: [{ slot: 'pgl_app_n3_n2_from_n3', bytes: 7_800 }] }, 'master');
    const n2 = input('n2', { mySlots: ['pgl_app_n1_n2_from_n1', 'pgl_app_n3_n2_from_n3'] }, 'master');
    expect(pglogicalLagBytes(n2, [p1, p3])).toBe(7_800);
  });
  it('spock: rows with 0 bytes behind count as 0 lag (replication_lag grows while idle); none → fallback', () => {
    expect(
      spockLag(
        input('n', {
          spockLag: [
            { origin: 'a', lagMs: 4_014, bytes: 0 },
            { origin: 'b', lagMs: 120, bytes: 64 },
          ],
        }),
      ),
    ).toEqual({ lagMs: 120, lagBytes: 64 });
    expect(spockLag(input('n', { spockLag: [] }))).toBeNull();
  });
});
