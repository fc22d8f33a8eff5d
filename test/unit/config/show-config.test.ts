import { describe, expect, it } from 'vitest';
import { configRows } from '../../../src/config/show-config.js';
import { load, MINIMAL } from './helpers.js';

describe('configRows (SHOW CONFIG)', () => {
  it('flattens with YAML keys, units, redacted secrets and reload flags', () => {
    const rows = configRows(load(`${MINIMAL}admin: { http: { token: tok } }\n`));
    const byKey = new Map(rows.map((r) => [r.key, r]));
    expect(byKey.get('pool.idle_timeout')).toEqual({ key: 'pool.idle_timeout', value: '1m', reload: 'runtime' });
    expect(byKey.get('pool.mode')?.reload).toBe('restart');
    expect(byKey.get('users[app].password')?.value).toBe('[redacted]');
    expect(byKey.get('admin.http.token')?.value).toBe('[redacted]');
    expect(byKey.get('cluster.nodes[tokyo].port')?.value).toBe('5503');
    expect(byKey.get('tls')?.value).toBe('off');
    expect(JSON.stringify(rows)).not.toMatch(/secret|tok"/);
  });
});
