// Refuses well-known placeholder secrets ("change-me", "admin-secret", "password" …) in every
// password, token or secret field of a config tree, after ${VAR} substitution: an example config
// copied as is, or a default that slipped in, must not open Meridian to anyone who read the
// docs. Pure: returns issues with the key path; the loader adds the line.

import type { ConfigPath, PathIssue } from './env-substitute.js';

/** Compared case-insensitively, surrounding blanks ignored. */
export const PLACEHOLDER_SECRETS: ReadonlySet<string> = new Set([
  'change-me', 'changeme', 'change_me', 'change-this', 'changeit', 'admin-secret', 'secret', 'password',
  'passw0rd', 'admin', 'default', 'example', 'placeholder', 'token', 'your-password', 'your-token',
]);

/** A key that holds a secret inline: password, backend_password, token, secret, server_secret … */
function isSecretKey(key: string): boolean {
  return /(^|_)(password|token|secret)$/.test(key);
}

export function isPlaceholderSecret(value: string): boolean {
  return PLACEHOLDER_SECRETS.has(value.trim().toLowerCase());
}

/** One issue per secret field whose value is a known placeholder. */
export function findPlaceholderSecrets(value: unknown, issues: PathIssue[], path: ConfigPath = []): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => findPlaceholderSecrets(item, issues, [...path, i]));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string' && isSecretKey(key) && isPlaceholderSecret(item)) {
      issues.push({ path: [...path, key], message: `"${item.trim()}" is a well-known placeholder, not a secret: set a real one (from the environment or a *_file)` });
    } else {
      findPlaceholderSecrets(item, issues, [...path, key]);
    }
  }
}
