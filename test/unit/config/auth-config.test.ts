// Config for authentication (issue 14): the auth section, stored SCRAM secrets as passwords,
// cluster.auth_methods, and verify-ca/verify-full without a CA being an error.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatStoredSecret, scramSecret } from '../../../src/auth/scram.js';
import { load, loadError, MINIMAL } from './helpers.js';

const STORED = formatStoredSecret(scramSecret('pw', randomBytes(16)));
const withUser = (user: string) => MINIMAL.replace('{ name: app, password: s3cret-app }', user);

describe('auth config', () => {
  it('defaults: no mock key, no delay, no auth query; nodes may ask for scram, md5, cleartext over TLS, or nothing', () => {
    const cfg = load(MINIMAL);
    expect(cfg.auth).toEqual({ mockKey: null, failureDelayMs: 0, query: null });
    expect(cfg.cluster.authMethods).toEqual(['scram-sha-256', 'md5', 'password', 'trust']);
  });

  it('reads auth.query with its defaults', () => {
    const cfg = load(`${MINIMAL}auth: { query: "select usename, passwd from pg_shadow where usename = $1", user: authuser, password: apw, failure_delay: 1s, mock_key: k }\n`);
    expect(cfg.auth).toEqual({
      mockKey: 'k', failureDelayMs: 1000,
      query: { query: 'select usename, passwd from pg_shadow where usename = $1', user: 'authuser', password: 'apw', database: 'postgres', cacheTtlMs: 60_000, maxConcurrent: 8 },
    });
  });

  it('refuses an auth.query without $1 or without a user, and auth.user without a query', () => {
    expect(loadError(`${MINIMAL}auth: { query: "select 1", user: u }\n`).message).toMatch(/auth\.query.*\$1/s);
    expect(loadError(`${MINIMAL}auth: { query: "select $1" }\n`).message).toMatch(/auth\.user.*required with auth\.query/s);
    expect(loadError(`${MINIMAL}auth: { user: u }\n`).message).toMatch(/only applies with auth\.query/);
  });

  it('a stored SCRAM secret is a password for clients only: no backend password (pass-through)', () => {
    const cfg = load(withUser(`{ name: app, password: "${STORED}" }`) + 'health: { user: postgres }\n');
    expect(cfg.users[0]).toMatchObject({ password: STORED, auth: 'scram-sha-256', backendPassword: null });
    const own = load(withUser(`{ name: app, password: "${STORED}", backend_password: plain }`));
    expect(own.users[0]!.backendPassword).toBe('plain');
  });

  it('refuses a broken stored secret, one with a method other than scram-sha-256, and one as backend_password', () => {
    expect(loadError(withUser(`{ name: app, password: "${STORED.slice(0, -4)}" }`)).message).toMatch(/not one/);
    expect(loadError(withUser(`{ name: app, password: "${STORED}", auth: md5 }`)).message).toMatch(/must be scram-sha-256/);
    expect(loadError(withUser(`{ name: app, password: x, backend_password: "${STORED}" }`)).message).toMatch(/must be a plaintext password/);
  });

  it('needs health.password when the probe user only has a stored secret', () => {
    expect(loadError(withUser(`{ name: app, password: "${STORED}" }`)).message).toMatch(/health\.password.*stored SCRAM secret/s);
    expect(load(withUser(`{ name: app, password: "${STORED}" }`) + 'health: { password: p }\n').health.password).toBe('p');
  });

  it('cluster.auth_methods takes a list of methods, and refuses others', () => {
    const cfg = load(MINIMAL.replace('kind: pglogical', 'kind: pglogical\n  auth_methods: [scram-sha-256, insecure-password]'));
    expect(cfg.cluster.authMethods).toEqual(['scram-sha-256', 'insecure-password']);
    expect(loadError(MINIMAL.replace('kind: pglogical', 'kind: pglogical\n  auth_methods: [cleartext]')).message).toMatch(/auth_methods/);
  });

  it('verify-ca / verify-full without cluster.tls_ca is an error (not Node\'s public CA list)', () => {
    for (const mode of ['verify-ca', 'verify-full']) {
      expect(loadError(MINIMAL.replace('kind: pglogical', `kind: pglogical\n  tls: ${mode}`)).message).toMatch(/cluster\.tls_ca.*required with cluster\.tls/s);
    }
    expect(load(MINIMAL.replace('kind: pglogical', 'kind: pglogical\n  tls: require')).cluster.tlsCa).toBeNull();
  });
});
