// Test support: the run root (one temp dir per test run holding every cluster, the unix sockets and
// the initdb template) and the template itself. A test run started by vitest's global setup shares
// one root between the main process and all workers (MERIDIAN_TEST_ROOT); a process used outside
// vitest gets its own root, removed at exit.
//
// The template is one initdb, booted once to create database `app`, the test roles and grants,
// then stopped; every node is a copy of it (cp -a ≈ 50 ms against initdb + setup ≈ 1–3 s).
import { chownSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { trackDir } from './cleanup.js';
import { findPgBin, pgOsUser } from './pg-bin.js';
import { spawnPostmaster, stopPostmaster, waitReady } from './postmaster.js';
import { runChecked } from './proc.js';
import { BOOTSTRAP_SQL_APP, BOOTSTRAP_SQL_POSTGRES, hbaConf, TEST_DATABASE } from './test-users.js';

export const RUN_ROOT_ENV = 'MERIDIAN_TEST_ROOT';

/** Where run roots go: TMPDIR if the server OS user can reach it and socket paths stay short. */
export function tmpBase(): string {
  const base = process.env.MERIDIAN_TEST_TMPDIR ?? tmpdir();
  if (base.length > 60) return '/tmp';
  if (pgOsUser()) {
    // every ancestor must be searchable by others (the server runs as another user)
    for (let d = base; d !== dirname(d); d = dirname(d)) {
      try {
        if ((statSync(d).mode & 0o001) === 0) return '/tmp';
      } catch {
        return '/tmp';
      }
    }
  }
  return base;
}

/** mkdir -p, and hand the leaf to the server OS user so it can create data dirs in it. */
export function mkdirOwned(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const user = pgOsUser();
  if (user) chownSync(dir, user.uid, user.gid);
  return dir;
}

let root: string | undefined;

/** Creates a fresh run root named after this process (global setup, or a process outside vitest). */
export function createRunRoot(): string {
  const dir = join(tmpBase(), `meridian-test-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirOwned(dir);
  mkdirOwned(join(dir, 'sock'));
  return dir;
}

/** The run root of this test run (shared with the global setup's process when there is one). */
export function runRoot(): string {
  if (root) return root;
  const shared = process.env[RUN_ROOT_ENV];
  if (shared && existsSync(shared)) {
    root = shared;
  } else {
    root = createRunRoot();
    trackDir(root);
  }
  return root;
}

/** Unix socket directory of every node of the run (short path: sockets are limited to ~107 bytes). */
export function socketDir(): string {
  return join(runRoot(), 'sock');
}

let seq = 0;
/** A new, empty directory for one cluster, owned by the server OS user. */
export function newClusterDir(kind: string): string {
  return mkdirOwned(join(runRoot(), `${kind}-${process.pid}-${++seq}`));
}

let templatePromise: Promise<string> | undefined;

/** Path of the ready template data dir, building it on first use (once per run, race-safe). */
export function ensureTemplate(): Promise<string> {
  templatePromise ??= buildTemplate().catch((e: unknown) => {
    templatePromise = undefined;
    throw e;
  });
  return templatePromise;
}

async function buildTemplate(): Promise<string> {
  const dir = join(runRoot(), 'template');
  if (existsSync(join(dir, 'PG_VERSION'))) return dir;
  const bin = findPgBin();
  const work = mkdirOwned(join(runRoot(), `tmpl-${process.pid}-${Date.now()}`));
  const data = join(work, 'data');
  const args = ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'];
  if (bin.major >= 14) args.push('--no-instructions');
  await runChecked(bin.path('initdb'), args, { asPgUser: true, timeoutMs: 120_000 });

  // Boot on a private unix socket only: no TCP port, so nothing to collide with.
  const sock = mkdirOwned(join(work, 's'));
  const log = join(work, 'boot.log');
  const pm = spawnPostmaster(data, log, ['-c', 'listen_addresses=', '-c', `unix_socket_directories=${sock}`, '-c', 'port=5432']);
  try {
    await waitReady(pm, data, log);
    await runSql(sock, 'postgres', BOOTSTRAP_SQL_POSTGRES);
    await runSql(sock, TEST_DATABASE, BOOTSTRAP_SQL_APP);
  } finally {
    await stopPostmaster(pm, 'fast');
  }
  writeFileSync(join(data, 'pg_hba.conf'), hbaConf());
  try {
    renameSync(data, dir);
  } catch (e) {
    // another process of this run finished first: use theirs
    if (!existsSync(join(dir, 'PG_VERSION'))) throw e;
  }
  rmSync(work, { recursive: true, force: true });
  return dir;
}

async function runSql(sock: string, database: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ host: sock, port: 5432, user: 'postgres', database });
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Copies the template into `dataDir` (which must not exist), as the server OS user. */
export async function copyTemplate(dataDir: string): Promise<void> {
  const template = await ensureTemplate();
  await runChecked('cp', ['-a', template, dataDir], { asPgUser: true, timeoutMs: 120_000 });
}
