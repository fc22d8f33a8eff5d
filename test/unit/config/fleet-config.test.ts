// The fleet: section (several Meridian instances sharing state in etcd): defaults, secrets from
// the environment, checks that span keys, and the refusal of workers > 1.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseConfigText } from '../../../src/config/load-config.js';
import { isRestartOnly } from '../../../src/config/settings-table.js';
import { configRows } from '../../../src/config/show-config.js';
import { load, loadError, MINIMAL } from './helpers.js';

describe('fleet config', () => {
  it('absent: a single instance (null)', () => {
    expect(load(MINIMAL).fleet).toBeNull();
  });

  it('defaults: prefix /meridian, instance host name and listen port, 5s acks, 1s calls, 10s lease, 250ms sync', () => {
    const f = load(`${MINIMAL}fleet: { endpoints: [http://127.0.0.1:2379] }\n`).fleet;
    expect(f).toEqual({
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/meridian',
      instance: `${hostname()}:6432`,
      tls: null,
      user: null,
      password: null,
      ackTimeoutMs: 5_000,
      callTimeoutMs: 1_000,
      leaseTtlMs: 10_000,
      syncIntervalMs: 250,
    });
  });

  it('listen port 0: the process id stands in for the port in the default name', () => {
    const f = load(`${MINIMAL}listen: { port: 0 }\nfleet: { endpoints: [http://127.0.0.1:2379] }\n`).fleet;
    expect(f?.instance).toBe(`${hostname()}:pid${process.pid}`);
  });

  it('prefix normalised (one leading slash, no trailing one); user and password from the environment', () => {
    const f = load(
      `${MINIMAL}fleet: { endpoints: ["http://10.0.0.5:2379/"], prefix: "prod/eu/", instance: eu-1, user: meridian, password: "\${ETCD_PASSWORD}", ack_timeout: 2s }\n`,
      { ETCD_PASSWORD: 'etcd-pw-from-env' },
    ).fleet;
    expect(f).toMatchObject({ endpoints: ['http://10.0.0.5:2379'], prefix: '/prod/eu', instance: 'eu-1', user: 'meridian', password: 'etcd-pw-from-env', ackTimeoutMs: 2_000 });
  });

  it('refused with workers > 1, naming the key', () => {
    expect(loadError(`${MINIMAL}workers: 2\nfleet: { endpoints: [http://127.0.0.1:2379] }\n`).message).toMatch(/fleet: needs workers: 1 \(got 2\)/);
  });

  it('refuses bad endpoints, names and half-set credentials', () => {
    expect(loadError(`${MINIMAL}fleet: { endpoints: [] }\n`).message).toMatch(/fleet\.endpoints/);
    expect(loadError(`${MINIMAL}fleet: { endpoints: ["127.0.0.1:2379"] }\n`).message).toMatch(/fleet\.endpoints\[0\]/);
    expect(loadError(`${MINIMAL}fleet: { endpoints: [http://e:2379], instance: "a/b" }\n`).message).toMatch(/fleet\.instance/);
    expect(loadError(`${MINIMAL}fleet: { endpoints: [http://e:2379], user: meridian }\n`).message).toMatch(/fleet\.password: is required with fleet\.user/);
    expect(loadError(`${MINIMAL}fleet: { endpoints: [http://e:2379], password: "\${P}" }\n`, { P: 'pw-from-env' }).message).toMatch(/fleet\.user: is required/);
    expect(loadError(`${MINIMAL}fleet: { endpoints: [http://e:2379], lease_ttl: 1s }\n`).message).toMatch(/fleet\.lease_ttl/);
    expect(loadError(`${MINIMAL}fleet: { endpoints: [http://e:2379], tls: { ca: /nonexistent/ca.pem } }\n`).message).toMatch(/fleet\.tls\.ca: cannot read|fleet\.endpoints: must be https/);
    expect(loadError(`${MINIMAL}fleet: { endpoints: [http://e:2379], bogus: 1 }\n`).message).toMatch(/bogus/);
  });

  it('is restart-only', () => {
    expect(isRestartOnly('fleet')).toBe(true);
    expect(isRestartOnly('fleet.endpoints')).toBe(true);
  });

  it("config/meridian.yaml's commented fleet example loads once uncommented (its TLS files aside)", () => {
    const text = readFileSync(join(import.meta.dirname, '../../../config/meridian.yaml'), 'utf8');
    const lines = text.split('\n');
    const start = lines.findIndex((l) => l.startsWith('# fleet:'));
    const end = lines.findIndex((l, i) => i > start && !l.startsWith('#  ') && !l.startsWith('# fleet:'));
    expect(start).toBeGreaterThan(0);
    const block = lines
      .slice(start, end)
      .map((l) => l.slice(2))
      .filter((l) => !/^\s+(tls|ca|cert|key):/.test(l))
      .join('\n');
    const f = load(`${MINIMAL}${block}\n`, { ETCD_PASSWORD: 'etcd-pw-from-env' }).fleet;
    expect(f).toMatchObject({ prefix: '/meridian/prod', instance: 'eu-west-1', user: 'meridian', password: 'etcd-pw-from-env', endpoints: expect.arrayContaining(['https://10.0.0.5:2379']) });
  });

  it('SHOW CONFIG: the etcd password and the TLS private key are redacted, the certificates counted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-cfg-'));
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    writeFileSync(join(dir, 'ca.pem'), cert);
    writeFileSync(join(dir, 'c.pem'), cert);
    writeFileSync(join(dir, 'k.pem'), '-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n');
    const cfg = parseConfigText(
      `${MINIMAL}fleet: { endpoints: ["https://e:2379"], user: u, password: "\${P}", tls: { ca: ca.pem, cert: c.pem, key: k.pem } }\n`,
      'test.yaml',
      { env: { P: 'etcd-pw-from-env' }, baseDir: dir },
    );
    const rows = new Map(configRows(cfg).map((r) => [r.key, r.value]));
    expect(rows.get('fleet.password')).toBe('[redacted]');
    expect(rows.get('fleet.tls.key')).toBe('[redacted]');
    expect(rows.get('fleet.tls.ca')).toBe('PEM, 1 certificate(s)');
    expect(rows.get('fleet.ack_timeout')).toBe('5s');
    expect(JSON.stringify([...rows])).not.toMatch(/SECRETKEYBYTES|etcd-pw-from-env/);
    expect(configRows(load(MINIMAL)).find((r) => r.key === 'fleet')).toMatchObject({ value: 'off', reload: 'restart' });
  });
});
