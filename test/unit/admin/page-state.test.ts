// The operator page's state (src/admin/page-state.ts): nodes grouped by region in config order,
// one status word per node (down beats split brain beats the operator state), rates and residency
// lists from the SHOW rows; and the page's static files (src/admin/page/): a strict CSP, a script
// that parses and never writes markup.
import { describe, expect, it } from 'vitest';
import { PAGE_CSP, PAGE_HEADERS, pageAsset } from '../../../src/admin/page/assets.js';
import { PAGE_SCRIPT } from '../../../src/admin/page/script.js';
import { buildPageState, pageStatus, routedCounts } from '../../../src/admin/page-state.js';
import type { Cell } from '../../../src/admin/table.js';

function nodeRow(name: string, region: string, over: Record<string, Cell> = {}): Record<string, Cell> {
  return {
    name,
    region,
    role: 'replica',
    state: 'active',
    up: true,
    rtt_ms: 1.5,
    lag_ms: 12,
    lag_bytes: 0,
    active_backends: 2,
    idle_backends: 3,
    routed_reads: 10,
    routed_writes: 0,
    drain: null,
    last_error: null,
    lag_source: 'wal',
    problem: null,
    ...over,
  };
}

describe('pageStatus', () => {
  it('down first, then split brain, then the operator state', () => {
    expect(pageStatus(false, true, 'drained')).toBe('down');
    expect(pageStatus(true, true, 'draining')).toBe('split-brain');
    expect(pageStatus(true, false, 'draining')).toBe('draining');
    expect(pageStatus(true, false, 'drained')).toBe('drained');
    expect(pageStatus(true, false, 'catching-up')).toBe('catching-up');
    expect(pageStatus(true, false, 'active')).toBe('up');
  });
});

describe('buildPageState', () => {
  const nodes = [
    nodeRow('dublin', 'eu', { role: 'master', routed_writes: 5 }),
    nodeRow('virginia', 'us', { up: false, last_error: 'connection refused', rtt_ms: null }),
    nodeRow('frankfurt', 'eu', { state: 'draining', drain: '1 sessions, 1 backends left; 20s to timeout' }),
    nodeRow('tokyo', 'ap', { role: 'master' }),
  ];
  const state = buildPageState({
    nowMs: 42,
    pollMs: 1000,
    nodes,
    residency: [
      {
        rule: 'eu-tenants',
        match: 'tenant=acme-eu',
        regions: 'eu',
        nodes: 'dublin, frankfurt',
        masters: 'dublin',
        readable: '',
        status: 'ok',
        sessions: 3,
        refusals: 1,
      },
    ],
    splitBrain: new Set(['tokyo']),
    rates: new Map([['dublin', { readsPerS: 2.5, writesPerS: 1 }]]),
    events: [{ seq: 1, atMs: 40, kind: 'drain', type: 'state-changed', node: 'frankfurt', text: 'drain of frankfurt started (DRAIN)' }],
  });

  it('groups nodes by region, regions in the order of their first node', () => {
    expect(state.regions.map((g) => [g.region, g.nodes.map((n) => n.name)])).toEqual([
      ['eu', ['dublin', 'frankfurt']],
      ['us', ['virginia']],
      ['ap', ['tokyo']],
    ]);
  });

  it('gives each node its status, figures and rates', () => {
    const all = new Map(state.regions.flatMap((g) => g.nodes.map((n) => [n.name, n] as const)));
    expect(all.get('dublin')).toEqual({
      name: 'dublin',
      region: 'eu',
      role: 'master',
      status: 'up',
      state: 'active',
      isUp: true,
      rttMs: 1.5,
      lagMs: 12,
      lagBytes: 0,
      readsPerS: 2.5,
      writesPerS: 1,
      activeBackends: 2,
      idleBackends: 3,
      drain: null,
      lastError: null,
    });
    expect(all.get('virginia')).toMatchObject({ status: 'down', rttMs: null, lastError: 'connection refused', readsPerS: null });
    expect(all.get('frankfurt')).toMatchObject({ status: 'draining', drain: '1 sessions, 1 backends left; 20s to timeout' });
    expect(all.get('tokyo')!.status).toBe('split-brain');
  });

  it('turns residency lists into arrays and passes the events and poll period', () => {
    expect(state.residency).toEqual([
      {
        rule: 'eu-tenants',
        match: 'tenant=acme-eu',
        regions: ['eu'],
        nodes: ['dublin', 'frankfurt'],
        masters: ['dublin'],
        readable: [],
        status: 'ok',
        sessions: 3,
        refusals: 1,
      },
    ]);
    expect(state.events).toHaveLength(1);
    expect(state.pollMs).toBe(1000);
    expect(state.takenAtMs).toBe(42);
  });

  it('reads the routed counters of the rows', () => {
    expect(routedCounts(nodes).get('dublin')).toEqual({ reads: 10, writes: 5 });
  });
});

describe('the page files', () => {
  it('serves the shell, script and stylesheet by path, with a CSP that allows only this origin and nothing inline', () => {
    expect(pageAsset('/ui')?.contentType).toMatch(/^text\/html/);
    expect(pageAsset('/ui/app.js')?.body).toBe(PAGE_SCRIPT);
    expect(pageAsset('/ui/app.css')?.contentType).toMatch(/^text\/css/);
    expect(pageAsset('/ui/state')).toBeUndefined();
    expect(PAGE_CSP).toContain("default-src 'none'");
    expect(PAGE_CSP).toContain("script-src 'self'");
    expect(PAGE_CSP).toContain("frame-ancestors 'none'");
    expect(PAGE_CSP).not.toMatch(/unsafe-|\*/);
    expect(PAGE_HEADERS['cache-control']).toBe('no-store');
    expect(PAGE_HEADERS['x-content-type-options']).toBe('nosniff');
  });

  it('has a script that parses and never puts markup into the DOM', () => {
    expect(() => new Function(PAGE_SCRIPT)).not.toThrow();
    expect(PAGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    expect(pageAsset('/ui')!.body).not.toMatch(/<script>|<style>| on\w+=/);
  });
});
