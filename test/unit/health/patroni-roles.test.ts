// HealthMonitor with Patroni's view (cluster.patroni): a node's role is what its probe and Patroni
// agree on; a disagreement (a promotion the probe has not seen, an old primary not yet demoted) makes
// the role unknown, and the node Patroni names leader is probed at once. Without a view: the probe's role.
import { afterEach, describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../../src/health/health-monitor.js';
import type { PatroniMember } from '../../../src/patroni/cluster-view.js';
import { FakeClock, raw, scriptedConnector, testConfig } from './fake-health.js';

let monitor: HealthMonitor | null = null;
afterEach(async () => {
  await monitor?.stop();
  monitor = null;
});

const member = (name: string, role: string): PatroniMember => ({
  name,
  role,
  state: 'running',
  host: null,
  port: null,
  lagBytes: role === 'leader' ? null : 0,
});
const primary = () => raw({ currentLsn: 1000 });
const standby = () => raw({ inRecovery: true, receiveLsn: 1000, replayLsn: 1000, replayAgeMs: 5 });

describe('HealthMonitor with Patroni roles', () => {
  it('takes the role both agree on; a promotion is followed once the probe confirms it; SHOW NODES text kept per node', async () => {
    const clock = new FakeClock();
    let promoted = false;
    const { connect, probes } = scriptedConnector(clock, (n) => ((n === 'a') !== promoted ? primary() : standby()));
    monitor = new HealthMonitor(testConfig('physical'), undefined, null, { clock, connect, random: () => 0.5 });
    monitor.start();
    await clock.advance(20);
    const roles = () => monitor!.snapshot.nodes.map((n) => `${n.name}=${n.role}`).join(',');
    expect(roles()).toBe('a=master,b=replica');

    monitor.setPatroniMembers(
      new Map([
        ['a', member('a', 'leader')],
        ['b', member('b', 'replica')],
      ]),
    );
    expect(roles()).toBe('a=master,b=replica');
    expect(monitor.snapshot.byName.get('b')?.patroni).toBe('replica running, lag 0 B');

    // Patroni promoted b, the probes have not seen it yet: neither is a master (nor a replica)
    const before = probes.b?.length ?? 0;
    promoted = true;
    monitor.setPatroniMembers(
      new Map([
        ['a', member('a', 'replica')],
        ['b', member('b', 'leader')],
      ]),
    );
    expect(roles()).toBe('a=unknown,b=unknown');
    await clock.advance(5);
    expect(probes.b?.length ?? 0).toBeGreaterThan(before); // probed at once, not at the next interval
    expect(roles()).toBe('a=replica,b=master');
    expect(monitor.snapshot.byName.get('b')?.patroni).toBe('leader running');

    // the view gone (Patroni turned off by a reload): probe roles alone
    monitor.setPatroniMembers(null);
    expect(roles()).toBe('a=replica,b=master');
    expect(monitor.snapshot.byName.get('b')?.patroni).toBeNull();
  });

  it('a node Patroni does not list keeps its probe role', async () => {
    const clock = new FakeClock();
    const { connect } = scriptedConnector(clock, (n) => (n === 'a' ? primary() : standby()));
    monitor = new HealthMonitor(testConfig('physical'), undefined, null, { clock, connect, random: () => 0.5 });
    monitor.start();
    await clock.advance(20);
    monitor.setPatroniMembers(new Map([['b', member('b', 'replica')]]));
    await clock.advance(1000);
    expect(monitor.snapshot.nodes.map((n) => `${n.name}=${n.role}`).join(',')).toBe('a=master,b=replica');
  });
});
