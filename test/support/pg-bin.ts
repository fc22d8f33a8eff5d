// Test support: where the PostgreSQL binaries are, which OS user runs the server, and whether a pid is
// really alive. Owns no processes. Must not start anything: cluster code calls it.
//
// Why an OS user: initdb and postgres refuse to run as root. When the tests run as root, server-side
// tools (initdb, postgres, pg_basebackup, cp of data dirs) run as the `postgres` OS user, created if
// missing. We spawn them with Node's `uid`/`gid` spawn options (libuv drops supplementary groups),
// which is what `runuser -u postgres --` does, minus the intermediate process: the postmaster is then
// our direct child, so we reap it and signal it directly.
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

export interface PgBin {
  /** Directory holding postgres, initdb, pg_basebackup, psql, pgbench. */
  readonly dir: string;
  /** Major version, e.g. 15. */
  readonly major: number;
  /** `postgres --version` output, e.g. "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
  readonly versionText: string;
  /** Absolute path of a tool in `dir` (not checked). */
  path(tool: string): string;
  /** True when the extension's control file and library are installed for this server. */
  hasExtension(name: string): boolean;
  /** True when this server knows the configuration parameter (`postgres --describe-config`). */
  hasSetting(name: string): boolean;
}

export interface PgOsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

let cachedBin: PgBin | undefined;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isServerBinDir(dir: string): boolean {
  return isExecutable(join(dir, 'postgres')) && isExecutable(join(dir, 'initdb'));
}

function numericSuffixDirs(parent: string, pattern: RegExp): string[] {
  if (!existsSync(parent)) return [];
  return readdirSync(parent)
    .filter((d) => pattern.test(d))
    .sort((a, b) => Number.parseFloat(b.replace(/^\D+/, '')) - Number.parseFloat(a.replace(/^\D+/, '')))
    .map((d) => join(parent, d));
}

/** Candidate bin dirs in priority order: PG_BIN, PATH (symlinks resolved), distro locations. */
function candidateDirs(): string[] {
  const out: string[] = [];
  for (const entry of (process.env.PATH ?? '').split(delimiter)) {
    if (!entry) continue;
    const exe = join(entry, 'postgres');
    if (isExecutable(exe)) out.push(dirname(realpathSync(exe)));
  }
  out.push(...numericSuffixDirs('/usr/lib/postgresql', /^\d+(\.\d+)?$/).map((d) => join(d, 'bin')));
  out.push(...numericSuffixDirs('/usr', /^pgsql-\d+$/).map((d) => join(d, 'bin')));
  return out;
}

/** Finds the PostgreSQL server binaries once per process; throws a clear error when there are none. */
export function findPgBin(): PgBin {
  if (cachedBin) return cachedBin;
  const explicit = process.env.PG_BIN;
  let dir: string | undefined;
  if (explicit) {
    if (!isServerBinDir(explicit)) throw new Error(`PG_BIN=${explicit} has no executable postgres and initdb`);
    dir = explicit;
  } else {
    dir = candidateDirs().find(isServerBinDir);
  }
  if (!dir) {
    throw new Error(
      'PostgreSQL server binaries not found (looked at PG_BIN, PATH, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin). ' +
        'Install them (Debian: apt-get install postgresql postgresql-contrib) or set PG_BIN.',
    );
  }
  const versionText = execFileSync(join(dir, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(versionText);
  if (!m?.[1]) throw new Error(`cannot parse PostgreSQL version from "${versionText}"`);
  const major = Number(m[1]);
  const binDir = dir;
  cachedBin = {
    dir: binDir,
    major,
    versionText,
    path: (tool) => join(binDir, tool),
    hasExtension: (name) => extensionInstalled(binDir, major, name),
    hasSetting: (name) => serverSettings(binDir).has(name),
  };
  return cachedBin;
}

let cachedSettings: Set<string> | null = null;

/** The parameters the server knows, from `postgres --describe-config` (one per line, name first). */
function serverSettings(binDir: string): Set<string> {
  if (cachedSettings !== null) return cachedSettings;
  let text = '';
  try {
    text = execFileSync(join(binDir, 'postgres'), ['--describe-config'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  } catch {
    /* an old or unusual server: no optional settings are added */
  }
  cachedSettings = new Set(text.split('\n').map((l) => l.split('\t')[0]!));
  return cachedSettings;
}

function extensionInstalled(binDir: string, major: number, name: string): boolean {
  const prefix = dirname(binDir);
  const shareDirs = [join(prefix, 'share', 'extension'), join(prefix, 'share', 'postgresql', 'extension'), `/usr/share/postgresql/${major}/extension`];
  const libDirs = [join(prefix, 'lib'), join(prefix, 'lib', 'postgresql'), `/usr/lib/postgresql/${major}/lib`];
  return shareDirs.some((d) => existsSync(join(d, `${name}.control`))) && libDirs.some((d) => existsSync(join(d, `${name}.so`)));
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

let cachedUser: PgOsUser | null | undefined;

/**
 * The OS user that runs server-side tools: null when we are not root (run them as ourselves);
 * otherwise `MERIDIAN_TEST_OSUSER` (default `postgres`), created as a system user when missing.
 */
export function pgOsUser(): PgOsUser | null {
  if (cachedUser !== undefined) return cachedUser;
  if (!isRoot()) {
    cachedUser = null;
    return cachedUser;
  }
  const name = process.env.MERIDIAN_TEST_OSUSER ?? 'postgres';
  const lookup = (flag: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  try {
    lookup('-u');
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', name], {
      stdio: 'ignore',
    });
  }
  cachedUser = { name, uid: lookup('-u'), gid: lookup('-g') };
  return cachedUser;
}

/** Spawn options that run a command as the server OS user (cwd /tmp: it may not read ours). */
export function asPgUserOptions(): { uid?: number; gid?: number; cwd: string } {
  const user = pgOsUser();
  return user ? { uid: user.uid, gid: user.gid, cwd: '/tmp' } : { cwd: '/tmp' };
}

/** Environment for server-side tools: ours minus libpq variables that would redirect them. */
export function serverToolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^PG[A-Z]/.test(k)) env[k] = v;
  }
  env.LC_ALL = 'C';
  env.LANG = 'C';
  if (pgOsUser()) env.HOME = '/tmp';
  return { ...env, ...extra };
}

export type PidState = 'alive' | 'zombie' | 'gone';

/**
 * State of a pid from /proc. PID 1 in some sandboxes does not reap orphans, so an exited postmaster
 * can linger as a zombie and `kill -0` would still succeed: zombies count as dead.
 */
export function pidState(pid: number): PidState {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    if (existsSync('/proc/self/stat')) return 'gone';
    try {
      process.kill(pid, 0);
      return 'alive';
    } catch {
      return 'gone';
    }
  }
  // "pid (comm) S ...": comm may contain spaces and parentheses, so take the state after the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X' ? 'zombie' : 'alive';
}

export function isPidAlive(pid: number): boolean {
  return pidState(pid) === 'alive';
}

/** A server certificate and key (and their directory) the server can read: owned by its OS user, key 0600. */
export function handCertToServer(dir: string, cert: string, key: string): void {
  const user = pgOsUser();
  for (const f of [dir, cert, key]) if (user) chownSync(f, user.uid, user.gid);
  chmodSync(key, 0o600);
}
