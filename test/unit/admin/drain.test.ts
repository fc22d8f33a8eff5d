// Drain orchestration against a real TopologyStore and fake sessions/pools: state order,
// waiting for work to finish, timeout actions (cancel / leave), the last-master guard, UNDRAIN.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeMeridian, fakeSession } from './fake-meridian.js';

afterEach(() => {
  vi.useRealTimers();
});

const three = [
  { name: 'n1', region: 'eu' },
  { name: 'n2', region: 'eu' },
  { name: 'n3', region: 'us' },
];

describe('DRAIN', () => {
  it('marks the node draining at once, then drained when no session is on it', async () => {
    const f = fakeMeridian({ nodes: three });
    const s = fakeSession(1, 'n1');
    f.sessions.set(1, s);
    f.pools.get('n1')!.total = 3;
    f.pools.get('n1')!.idleCount = 2;
    const done = f.drains.drain('n1');
    expect(f.store.snapshot.byName.get('n1')!.state).toBe('draining');
    expect(f.pools.get('n1')!.isDraining).toBe(true);
    await new Promise((r) => setTimeout(r, 120));
    expect(f.drains.progress('n1')).toMatch(/^1 sessions, 1 backends left/);
    // the transaction ends: the session detaches, the pool closes the released backend
    s.attached = null;
    f.pools.get('n1')!.total = 0;
    const r = await done;
    expect(r).toMatchObject({ node: 'n1', outcome: 'drained', state: 'drained', cancelled: 0, closed: 0, left: 0 });
    expect(f.store.snapshot.byName.get('n1')!.state).toBe('drained');
    expect(f.drains.progress('n1')).toMatch(/^drained in /);
    expect(s.cancelled).toBe(0);
  });

  it('on timeout with on_timeout cancel: cancels running queries, then closes sessions still there', async () => {
    const f = fakeMeridian({ nodes: three, onTimeout: 'cancel' });
    const running = fakeSession(1, 'n1', true);
    const idleInTx = fakeSession(2, 'n1', false);
    const elsewhere = fakeSession(3, 'n2', true);
    for (const s of [running, idleInTx, elsewhere]) f.sessions.set(s.id, s);
    const r = await f.drains.drain('n1', { timeoutMs: 100 });
    expect(running.cancelled).toBe(1);
    expect(idleInTx.cancelled).toBe(0);
    expect(running.closedWith).toBe('node drained');
    expect(idleInTx.closedWith).toBe('node drained');
    expect(elsewhere.cancelled).toBe(0);
    expect(elsewhere.closedWith).toBeNull();
    expect(r).toMatchObject({ outcome: 'drained', cancelled: 1, closed: 2 });
    expect(f.store.snapshot.byName.get('n1')!.state).toBe('drained');
  }, 10_000);

  it('a cancelled request that comes back in the grace period is not closed', async () => {
    const f = fakeMeridian({ nodes: three, onTimeout: 'cancel' });
    const s = fakeSession(1, 'n1', true);
    s.cancelCurrent = () => {
      s.cancelled++;
      setTimeout(() => {
        s.attached = null;
      }, 50);
    };
    f.sessions.set(1, s);
    const r = await f.drains.drain('n1', { timeoutMs: 50 });
    expect(r).toMatchObject({ cancelled: 1, closed: 0 });
    expect(s.closedWith).toBeNull();
  });

  it('on timeout with on_timeout leave: leaves them and still reports drained', async () => {
    const f = fakeMeridian({ nodes: three, onTimeout: 'leave' });
    const s = fakeSession(1, 'n1', true);
    f.sessions.set(1, s);
    const r = await f.drains.drain('n1', { timeoutMs: 60 });
    expect(r).toMatchObject({ outcome: 'drained', left: 1, cancelled: 0, closed: 0 });
    expect(s.cancelled).toBe(0);
    expect(s.closedWith).toBeNull();
    expect(f.drains.progress('n1')).toMatch(/1 left running/);
  });

  it('refuses the last master of a residency rule unless forced', async () => {
    const f = fakeMeridian({ nodes: three, residency: [{ name: 'us-only', regions: ['us'] }] });
    expect(() => f.drains.drain('n3')).toThrow(/last master of residency rule "us-only"/);
    expect(f.store.snapshot.byName.get('n3')!.state).toBe('active');
    const r = await f.drains.drain('n3', { force: true });
    expect(r.outcome).toBe('drained');
  });

  it('refuses the last master of a rule when the other master there is down', () => {
    const f = fakeMeridian({
      nodes: [
        { name: 'n1', region: 'eu' },
        { name: 'n2', region: 'eu', isUp: false },
        { name: 'n3', region: 'us' },
      ],
      residency: [{ name: 'eu', regions: ['eu'] }],
    });
    expect(() => f.drains.drain('n1')).toThrow(/residency rule "eu"/);
  });

  it('refuses the cluster’s only master; allows a replica', async () => {
    const f = fakeMeridian({
      nodes: [
        { name: 'p', region: 'a' },
        { name: 's1', region: 'a', role: 'replica' },
      ],
    });
    expect(() => f.drains.drain('p')).toThrow(/last master of the cluster/);
    await expect(f.drains.drain('s1')).resolves.toMatchObject({ outcome: 'drained' });
  });

  it('rejects an unknown node', () => {
    const f = fakeMeridian({ nodes: three });
    expect(() => f.drains.drain('nope')).toThrow(/unknown node "nope"/);
  });

  it('a second DRAIN joins the running one; DRAIN of a drained node answers at once', async () => {
    const f = fakeMeridian({ nodes: three });
    const s = fakeSession(1, 'n1');
    f.sessions.set(1, s);
    const a = f.drains.drain('n1');
    const b = f.drains.drain('n1');
    s.attached = null;
    expect(await b).toEqual(await a);
    await expect(f.drains.drain('n1')).resolves.toMatchObject({ outcome: 'already-drained' });
  });
});

describe('UNDRAIN', () => {
  it('readmits a caught-up node at once and lets its pools open again', async () => {
    const f = fakeMeridian({ nodes: three });
    await f.drains.drain('n2');
    const r = f.drains.undrain('n2');
    expect(r.state).toBe('active');
    expect(f.pools.get('n2')!.isDraining).toBe(false);
    expect(f.store.snapshot.byName.get('n2')!.state).toBe('active');
  });

  it('leaves a lagging or down node catching-up', async () => {
    const f = fakeMeridian({ nodes: three });
    await f.drains.drain('n2');
    f.store.applyProbe({ node: 'n2', lagMs: 5000 });
    expect(f.drains.undrain('n2')).toMatchObject({ state: 'catching-up' });
    expect(f.drains.progress('n2')).toMatch(/lag 5000 ms; readmit at lag ≤ 1000 ms/);
    f.store.applyProbe({ node: 'n2', isUp: false, lagMs: null });
    expect(f.drains.undrain('n2').message).toMatch(/down/);
  });

  it('aborts a drain in progress', async () => {
    const f = fakeMeridian({ nodes: three });
    f.sessions.set(1, fakeSession(1, 'n1'));
    const done = f.drains.drain('n1');
    f.drains.undrain('n1');
    await expect(done).resolves.toMatchObject({ outcome: 'undrained' });
    expect(f.store.snapshot.byName.get('n1')!.state).toBe('active');
  });
});
