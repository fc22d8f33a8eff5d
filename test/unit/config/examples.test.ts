// Every file in config/ must load as shipped once the environment holds its secrets (they have no
// defaults, issue 14), and check-config must agree. Also keeps the settings table honest: every key
// the full example uses is documented.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCheckConfig } from '../../../src/config/check-config-command.js';
import { loadConfigFile } from '../../../src/config/load-config.js';
import { SETTINGS, formatSettingsMarkdown } from '../../../src/config/settings-table.js';

const CONFIG_DIR = join(import.meta.dirname, '../../../config');
const files = readdirSync(CONFIG_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

/** Every secret the example files take from the environment. */
const ENV = {
  APP_PASSWORD: 'app-pw-from-env', PG_PASSWORD: 'pg-pw-from-env', ADMIN_PASSWORD: 'admin-pw-from-env',
  MERIDIAN_ADMIN_TOKEN: 'token-from-env', PGEDGE_PASSWORD: 'pgedge-pw-from-env',
};

function capture(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
  return { out, text: () => text };
}

describe('config/ examples', () => {
  it('has the four documented examples', () => {
    expect(files).toEqual(expect.arrayContaining(['meridian.yaml', 'physical.yaml', 'single.yaml', 'spock.yaml']));
  });

  it.each(files)('%s loads with its secrets from the environment', (file) => {
    const cfg = loadConfigFile(join(CONFIG_DIR, file), { env: ENV });
    expect(cfg.cluster.nodes.length).toBeGreaterThan(0);
  });

  it.each(files)('%s has no default for any secret: without the environment it does not load (or has no secret)', (file) => {
    const text = readFileSync(join(CONFIG_DIR, file), 'utf8');
    expect(text).not.toMatch(/(password|token|secret)\w*:\s*"\$\{\w+:?-/);
    const hasSecret = /(password|token|secret):\s*"\$\{/.test(text);
    if (hasSecret) expect(() => loadConfigFile(join(CONFIG_DIR, file), { env: {} })).toThrow(/environment variable \w+ is not set/);
  });

  it('a well-known placeholder in the environment is refused, naming the key and line', () => {
    expect(() => loadConfigFile(join(CONFIG_DIR, 'meridian.yaml'), { env: { ...ENV, MERIDIAN_ADMIN_TOKEN: 'change-me' } }))
      .toThrow(/meridian\.yaml:\d+:\d+: admin\.http\.token: "change-me" is a well-known placeholder/);
  });

  it('meridian.yaml is the full pglogical example', () => {
    const cfg = loadConfigFile(join(CONFIG_DIR, 'meridian.yaml'), { env: ENV });
    expect(cfg.cluster.kind).toBe('pglogical');
    expect(cfg.cluster.nodes.map((n) => n.region)).toEqual(['eu-west', 'us-east', 'ap-northeast']);
    expect(cfg.residency.rules.length).toBeGreaterThan(0);
    expect(cfg.admin.users).toEqual(['admin']);
    expect(cfg.users[0]?.password).toBe('app-pw-from-env');
  });

  it('physical.yaml has a primary and two standbys, single.yaml one node', () => {
    expect(loadConfigFile(join(CONFIG_DIR, 'physical.yaml'), { env: ENV }).cluster.nodes).toHaveLength(3);
    expect(loadConfigFile(join(CONFIG_DIR, 'single.yaml'), { env: {} }).cluster.nodes).toHaveLength(1);
  });

  it('secrets come from the environment', () => {
    const cfg = loadConfigFile(join(CONFIG_DIR, 'meridian.yaml'), { env: { ...ENV, APP_PASSWORD: 'real', MERIDIAN_ADMIN_TOKEN: 'tok' } });
    expect(cfg.users[0]?.password).toBe('real');
    expect(cfg.admin.http?.token).toBe('tok');
  });

  it('uses only documented keys (settings table) in meridian.yaml', () => {
    const documented = new Set(SETTINGS.map((x) => x.key));
    const used: string[] = [];
    const walk = (node: Node | null | undefined, path: string): void => {
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : '?';
          const child = path === '' ? key : `${path}.${key}`;
          const value = pair.value as Node | null;
          if (!isMap(value) && !(isSeq(value) && isMap(value.items[0]))) used.push(child);
          walk(value, child);
        }
      } else if (isSeq(node)) {
        for (const item of node.items) walk(item as Node, `${path}[]`);
      }
    };
    walk(parseDocument(readFileSync(join(CONFIG_DIR, 'meridian.yaml'), 'utf8')).contents as Node, '');
    expect(used.filter((k) => !documented.has(k))).toEqual([]);
    expect(formatSettingsMarkdown()).toContain('| `pool.idle_timeout` | duration | 60s | runtime |');
  });
});

describe('runCheckConfig', () => {
  afterEach(() => { vi.unstubAllEnvs(); });

  it('prints a summary and returns 0 for a valid file', async () => {
    for (const [k, v] of Object.entries(ENV)) vi.stubEnv(k, v);
    const { out, text } = capture();
    expect(await runCheckConfig(join(CONFIG_DIR, 'meridian.yaml'), out)).toBe(0);
    expect(text()).toBe('ok: 3 nodes, kind pglogical, 2 users\n');
  });

  it('prints the error and returns 1 for a missing or invalid file', async () => {
    const { out, text } = capture();
    expect(await runCheckConfig('/nonexistent/x.yaml', out)).toBe(1);
    expect(text()).toMatch(/^error: \/nonexistent\/x\.yaml: cannot read config file/);
  });
});
