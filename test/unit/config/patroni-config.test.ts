// cluster.patroni: validated by the schema (URLs, durations, unknown keys), only with the physical
// kind, trailing slashes dropped, shown by SHOW CONFIG as reloadable keys.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load-config.js';
import { configRows } from '../../../src/config/show-config.js';

const yaml = (cluster: string) => `users: [{ name: app, password: "x-very-secret", auth: scram-sha-256 }]
cluster:
  ${cluster}
  nodes: [{ name: n1, host: 127.0.0.1, port: 5432, region: r }]
`;

describe('cluster.patroni', () => {
  it('absent: null (roles from probes alone)', () => {
    expect(parseConfigText(yaml('kind: physical'), 't.yaml').cluster.patroni).toBeNull();
  });

  it('defaults and units; a trailing slash is dropped; SHOW CONFIG lists it as runtime keys', () => {
    const cfg = parseConfigText(yaml('kind: physical\n  patroni: { urls: ["http://127.0.0.1:8008/", "https://[::1]:8009"], interval: 500ms }'), 't.yaml');
    expect(cfg.cluster.patroni).toEqual({ urls: ['http://127.0.0.1:8008', 'https://[::1]:8009'], intervalMs: 500, timeoutMs: 1000, switchoverTimeoutMs: 30_000 });
    expect(configRows(cfg).filter((r) => r.key.startsWith('cluster.patroni'))).toEqual([
      { key: 'cluster.patroni.urls', value: 'http://127.0.0.1:8008, https://[::1]:8009', reload: 'runtime' },
      { key: 'cluster.patroni.interval', value: '500ms', reload: 'runtime' },
      { key: 'cluster.patroni.timeout', value: '1s', reload: 'runtime' },
      { key: 'cluster.patroni.switchover_timeout', value: '30s', reload: 'runtime' },
    ]);
  });

  it.each([
    ['kind: pglogical\n  patroni: { urls: [http://x:1] }', 'cluster.patroni: only applies to cluster.kind physical (cluster.kind is pglogical)'],
    ['kind: physical\n  patroni: { urls: [] }', 'cluster.patroni.urls: must list at least one URL'],
    ['kind: physical\n  patroni: {}', 'cluster.patroni.urls: must list at least one URL'],
    ['kind: physical\n  patroni: { urls: ["ftp://x"] }', 'cluster.patroni.urls[0]: expected a Patroni REST API URL'],
    ['kind: physical\n  patroni: { urls: ["http://x:1/cluster"] }', 'cluster.patroni.urls[0]: expected a Patroni REST API URL'],
    ['kind: physical\n  patroni: { urls: ["http://user:pw@x:1"] }', 'cluster.patroni.urls[0]: expected a Patroni REST API URL'],
    ['kind: physical\n  patroni: { urls: [http://x:1], interval: 10ms }', 'cluster.patroni.interval'],
    ['kind: physical\n  patroni: { urls: [http://x:1], bogus: 1 }', 'cluster.patroni.bogus: unknown key "bogus"'],
  ])('refuses %s', (cluster, message) => {
    expect(() => parseConfigText(yaml(cluster), 't.yaml')).toThrow(message);
  });
});
