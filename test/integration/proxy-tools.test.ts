// Issue 2 acceptance with PostgreSQL's own tools through Meridian: a psql script using \copy,
// \gset and multi-statement lines; pgbench -i, then pgbench in simple, extended and prepared
// modes with zero failed transactions.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPgbench, runPsql } from '../support/proc.js';
import { startSingleNode, TEST_USERS, uniqueName, type Cluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: Cluster;
let mer: RunningMeridian;
const password = TEST_USERS.app.password;

beforeAll(async () => {
  // pgbench -i drops and creates its tables: a cluster of this file's own.
  cluster = await startSingleNode();
  await cluster.exec('grant create on schema public to app');
  mer = await startMeridian(cluster);
});

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

describe('psql through Meridian', () => {
  it('runs a script with \\copy, \\gset and multi-statement lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-psql-'));
    const t = uniqueName('ps');
    const data = join(dir, 'data.tsv');
    writeFileSync(data, Array.from({ length: 1000 }, (_, i) => `${i}\tname-${i}`).join('\n') + '\n');
    const script = join(dir, 'script.sql');
    writeFileSync(
      script,
      `
create table ${t}(id int primary key, name text); insert into ${t} values (-1, 'minus one'); select 1;
\\copy ${t} from '${data}'
select count(*) as n, max(id) as top from ${t} \\gset
\\echo rows=:n top=:top
begin; update ${t} set name = 'x' where id < 10; commit;
\\copy (select id, name from ${t} where id < 3 order by id) to '${join(dir, 'out.tsv')}'
select string_agg(name, ',' order by id) from ${t} where id < 3;
`,
    );
    const r = await runPsql({ port: mer.port, user: 'app', password, file: script });
    expect(r.stdout).toContain('rows=1001 top=999');
    expect(r.stdout).toContain('x,x,x,x'); // ids -1, 0, 1, 2 all updated inside the transaction
  });
});

describe('pgbench through Meridian', () => {
  it('initialises and runs 5 s in simple, extended and prepared modes with 0 failures', async () => {
    const env = { PGPASSWORD: password };
    const base = ['-h', '127.0.0.1', '-p', String(mer.port), '-U', 'app'];
    const init = await runPgbench([...base, '-i', '-s', '2', '-q', 'app'], env, { timeoutMs: 120_000 });
    expect(init.code, init.stderr).toBe(0);
    for (const mode of ['simple', 'extended', 'prepared']) {
      const r = await runPgbench([...base, '-c', '8', '-j', '2', '-T', '5', '-M', mode, 'app'], env, { timeoutMs: 60_000 });
      expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
      const processed = /number of transactions actually processed: (\d+)/.exec(r.stdout);
      expect(Number(processed?.[1] ?? 0), mode).toBeGreaterThan(0);
      const failed = /number of failed transactions: (\d+)/.exec(r.stdout);
      expect(Number(failed?.[1] ?? 0), mode).toBe(0);
    }
  }, 240_000);
});
