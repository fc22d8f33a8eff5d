import { describe, expect, it } from 'vitest';
import { describeReload } from '../../../src/config/reload-diff.js';
import { load, MINIMAL } from './helpers.js';

describe('describeReload', () => {
  const base = load(MINIMAL);

  it('reports nothing for an identical config', () => {
    expect(describeReload(base, load(MINIMAL))).toEqual({ changes: [], needsRestart: [], addedNodes: [], removedNodes: [], changedNodes: [] });
  });

  it('lists runtime changes by YAML key, without needing a restart', () => {
    const next = load(`${MINIMAL}pool: { size: 30, idle_timeout: 2m }\nrouting: { max_read_lag: 1s }\nlog: { level: debug }\n`);
    const diff = describeReload(base, next);
    expect(diff.changes).toEqual(['pool.size', 'pool.idle_timeout', 'routing.max_read_lag', 'log.level']);
    expect(diff.needsRestart).toEqual([]);
  });

  it('flags listen, tls, pool.mode, cluster.kind and admin.http as restart-only', () => {
    const next = load(
      `${MINIMAL.replace('pglogical', 'spock')}listen: { port: 7000 }\ntls: { cert: a, key: b }\npool: { mode: session }\nadmin: { http: { port: 9999 } }\n`,
    );
    const diff = describeReload(base, next);
    expect(diff.needsRestart).toEqual(['listen.port', 'tls', 'pool.mode', 'cluster.kind', 'admin.http']);
    expect(diff.changes).toEqual(expect.arrayContaining([...diff.needsRestart]));
  });

  it('reports node additions, removals and changes by name', () => {
    const next = load(MINIMAL
      .replace('    - { name: tokyo, host: 127.0.0.1, port: 5503, region: ap-northeast }\n', '    - { name: sydney, host: 127.0.0.1, port: 5504, region: ap-northeast }\n')
      .replace('port: 5502', 'port: 5602'));
    const diff = describeReload(base, next);
    expect(diff).toMatchObject({ addedNodes: ['sydney'], removedNodes: ['tokyo'], changedNodes: ['virginia'] });
    expect(diff.changes).toEqual(['cluster.nodes[virginia].port', 'cluster.nodes[tokyo]', 'cluster.nodes[sydney]']);
    expect(diff.needsRestart).toEqual([]);
  });

  it('keys users and residency rules by name and never includes secret values', () => {
    const next = load(MINIMAL.replace('password: s3cret-app', 'password: hunter2') +
      'residency:\n  - { name: eu, match: { tenant: acme }, regions: [eu-west] }\n');
    const diff = describeReload(base, next);
    expect(diff.changes).toEqual(['users[app].password', 'users[app].backend_password', 'health.password', 'residency.rules[eu]']);
    expect(JSON.stringify(diff)).not.toContain('hunter2');
    const edited = load(MINIMAL + 'residency:\n  - { name: eu, match: { tenant: acme, application_name: x }, regions: [eu-west] }\n');
    expect(describeReload(next, edited).changes).toContain('residency.rules[eu].match.application_name');
  });

  it('notices a change of node order (the config order is a preference)', () => {
    const lines = MINIMAL.split('\n');
    const swapped = [...lines.slice(0, 6), lines[7], lines[6], ...lines.slice(8)].join('\n');
    expect(describeReload(base, load(swapped)).changes).toEqual(['cluster.nodes (order)']);
  });
});
