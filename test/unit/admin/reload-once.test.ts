// Issue 16, bug 6: RELOAD read the config file twice (once to find the nodes to drain, once to
// apply), so a file edited in between was half one version and half the other. One read, one
// decision: the file is loaded once per RELOAD and that very config is the one applied.
// No sockets: Meridian is built but not started (RELOAD of a config that removes no node).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const reads = vi.hoisted(() => ({ count: 0, afterFirst: null as null | (() => void) }));

vi.mock('../../../src/config/load-config.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../../src/config/load-config.js')>();
  return {
    ...orig,
    loadConfigFile: (path: string, ...rest: unknown[]) => {
      const cfg = (orig.loadConfigFile as (p: string, ...r: unknown[]) => ReturnType<typeof orig.loadConfigFile>)(path, ...rest);
      reads.count++;
      // The operator saves the file again right after Meridian read it.
      if (reads.count === 1) reads.afterFirst?.();
      return cfg;
    },
  };
});

const { parseConfigText } = await import('../../../src/config/load-config.js');
const { createLogger } = await import('../../../src/logger.js');
const { Meridian } = await import('../../../src/server.js');

const yaml = (poolSize: number) => `
listen: { host: 127.0.0.1, port: 0 }
pool: { mode: transaction, size: ${poolSize} }
users:
  - { name: app, password: s3cret-app }
cluster:
  kind: pglogical
  nodes:
    - { name: n1, host: 127.0.0.1, port: 5501, region: eu }
    - { name: n2, host: 127.0.0.1, port: 5502, region: us }
log: { level: silent }
`;

afterEach(() => {
  reads.count = 0;
  reads.afterFirst = null;
});

// vi.mock of an ES module (the file reader counted below) takes effect under Node.js only; on
// Bun the module is not replaced, so the count would say nothing there.
describe.skipIf(typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined')('RELOAD reads the config file once', () => {
  it('one RELOAD is one read of the file, and the config applied is the one read (not a later save)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'meridian-reload-once-')), 'meridian.yaml');
    writeFileSync(path, yaml(10));
    const cfg = parseConfigText(readFileSync(path, 'utf8'), path);
    const m = new Meridian(cfg, { logger: createLogger('silent'), configPath: path });
    writeFileSync(path, yaml(7));
    reads.afterFirst = () => writeFileSync(path, yaml(3));
    const r = await m.admin.reloads.reload();
    console.log(`config file reads per RELOAD: ${reads.count}; pool.size applied: ${m.config.pool.size}`);
    expect(r.ok).toBe(true);
    expect(reads.count).toBe(1);
    expect(m.config.pool.size).toBe(7);
    expect(r.changes).toContain('pool.size');
  });
});
