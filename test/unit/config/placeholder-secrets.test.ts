// Issue 14, finding 18: well-known placeholder secrets are refused at load, in every password,
// token or secret field, inline or through ${VAR}, with the key path and the line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load-config.js';
import { isPlaceholderSecret } from '../../../src/config/placeholder-secrets.js';
import { load, loadError, MINIMAL } from './helpers.js';

describe('placeholder secrets', () => {
  it.each(['change-me', 'CHANGEME', ' admin-secret ', 'secret', 'password', 'changeit'])('refuses %j for a client password, naming key and line', (value) => {
    const err = loadError(MINIMAL.replace('password: s3cret-app', `password: "${value}"`));
    expect(err.message).toMatch(/^test\.yaml:3:\d+: users\[0\]\.password: ".+" is a well-known placeholder, not a secret/);
  });

  it('refuses one that arrives through ${VAR}, and every field at once', () => {
    const text = MINIMAL.replace('password: s3cret-app', 'password: "${APP_PW}", backend_password: password')
      + 'health: { password: changeme }\nadmin: { http: { token: "${TOKEN}" } }\n';
    const err = loadError(text, { APP_PW: 'admin-secret', TOKEN: 'change-me' });
    expect(err.issues.map((i) => [i.path, i.line])).toEqual([
      ['users[0].password', 3], ['users[0].backend_password', 3], ['health.password', 10], ['admin.http.token', 11],
    ]);
  });

  it('refuses one read from a *_file, naming the file key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-placeholder-'));
    writeFileSync(join(dir, 'token'), 'change-me\n');
    writeFileSync(join(dir, 'meridian.yaml'), `${MINIMAL}admin: { http: { token_file: token } }\n`);
    expect(() => loadConfigFile(join(dir, 'meridian.yaml'))).toThrow(/meridian\.yaml:\d+:\d+: admin\.http\.token_file: secret file token holds a well-known placeholder/);
  });

  it('accepts real secrets, and placeholders in fields that are no secrets', () => {
    expect(load(MINIMAL.replace('password: s3cret-app', 'password: "correct horse battery"')).users[0]?.password).toBe('correct horse battery');
    expect(load(MINIMAL.replace('name: app', 'name: admin')).users[0]?.name).toBe('admin');
    expect(isPlaceholderSecret('change-me-later-7f3a')).toBe(false);
  });
});
