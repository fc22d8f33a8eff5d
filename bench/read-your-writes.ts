// Read-your-writes on primary + 1 standby: the routing mix (90 % reads / 10 % write transactions)
// through one Meridian (dist/, run `npm run build` first), sessions started with
// -c meridian.read_your_writes=off vs on, interleaved rounds, medians. Prints TPS and the share of
// reads the standby served (its pg_stat_database.xact_commit; the count's own query is taken off).
// Usage: node --import tsx bench/read-your-writes.ts   (env CLIENTS=8 T=10 ROUNDS=3)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PgFactory, initPgbench, pgTool, BENCH_USER, BENCH_DB } from '../bench/lib/postgres.js';
import { startMeridian } from '../bench/lib/proxies.js';
import { run, killAllSync } from '../bench/lib/proc.js';
process.on('exit', () => killAllSync());
const root = mkdtempSync('/tmp/meridian-ryw-');
const f = new PgFactory(root);
const primary = await f.createNode({ name: 'primary' });
await primary.start();
await initPgbench(primary, 10);
const sb = await f.createStandby(primary, 'standby1');
await sb.start();
await primary.waitStandbys(1);
const env = { ...process.env, PGPASSWORD: 'x' };
const m = await startMeridian(root, 'mer', { repoRoot: process.cwd(), kind: 'physical', nodes: [primary, sb], poolSize: 20, readsOnMasters: 'fallback' });
const rf = join(root, 'r.sql'),
  wf = join(root, 'w.sql');
writeFileSync(rf, '\\set aid random(1, 1000000)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n');
writeFileSync(
  wf,
  '\\set aid random(1, 1000000)\n\\set delta random(-5000, 5000)\nBEGIN;\nUPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\nINSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);\nEND;\n',
);
const commits = async () =>
  Number(
    (
      await run(
        pgTool('psql'),
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(sb.port),
          '-U',
          BENCH_USER,
          '-At',
          '-c',
          `select xact_commit from pg_stat_database where datname = '${BENCH_DB}'`,
          BENCH_DB,
        ],
        { env },
      )
    ).stdout.trim(),
  );
const C = process.env.CLIENTS ?? '8';
const res: Record<string, number[][]> = {};
for (let r = 0; r < Number(process.env.ROUNDS ?? 3); r++)
  for (const mode of ['off', 'on']) {
    const x0 = await commits();
    const out = await run(
      pgTool('pgbench'),
      ['-h', '127.0.0.1', '-p', String(m.port), '-U', BENCH_USER, '-f', rf + '@9', '-f', wf + '@1', '-c', C, '-j', '2', '-T', process.env.T ?? '10', BENCH_DB],
      { env: { ...env, PGOPTIONS: `-c meridian.read_your_writes=${mode}` }, timeoutMs: 120000 },
    );
    const x1 = await commits();
    const tps = Number(/tps = ([\d.]+)/.exec(out.stdout)?.[1]);
    const txs = Number(/actually processed: (\d+)/.exec(out.stdout)?.[1]);
    const reads = txs * 0.9;
    const share = (x1 - x0 - 1) / reads; // the psql count itself is one commit
    (res[mode] ??= []).push([tps, share]);
    console.log(`r${r} ryw=${mode} tps ${tps.toFixed(0)} reads on standby ${(100 * share).toFixed(1)} % ${out.code ? out.stderr.slice(-300) : ''}`);
  }
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)]!;
for (const [k, v] of Object.entries(res))
  console.log(`median ryw=${k}: tps ${med(v.map((x) => x[0]!)).toFixed(0)}, reads on standby ${(100 * med(v.map((x) => x[1]!))).toFixed(1)} %`);
await m.daemon.stop();
await sb.stop();
await primary.stop();
