// Shared fixtures for the config unit tests: a minimal valid YAML, and a loader that never
// reads the real environment.
import { ConfigError, parseConfigText } from '../../../src/config/load-config.js';
import type { MeridianConfig } from '../../../src/config/types.js';

export const MINIMAL = `
users:
  - { name: app, password: s3cret-app }
cluster:
  kind: pglogical
  nodes:
    - { name: dublin, host: 127.0.0.1, port: 5501, region: eu-west }
    - { name: virginia, host: 127.0.0.1, port: 5502, region: us-east }
    - { name: tokyo, host: 127.0.0.1, port: 5503, region: ap-northeast }
`;

export function load(text: string, env: Record<string, string> = {}): MeridianConfig {
  return parseConfigText(text, 'test.yaml', { env, baseDir: '/etc/meridian' });
}

/** The ConfigError `text` fails with (fails the test if it loads). */
export function loadError(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    load(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but the config loaded');
}
