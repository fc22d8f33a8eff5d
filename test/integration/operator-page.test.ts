// Issue 20, item 5: the operator's page, tested in a real browser. A primary with two hot standbys
// in two regions (primary and s1 in "eu", s2 in "us"), Meridian in-process with the admin HTTP API
// and a token, light load through Meridian, and headless Chromium (puppeteer-core, the machine's
// chromium) on GET /ui: it asks for the token, shows every node by region, shows a node `down`
// within 2 s of `pg_ctl stop`, drains and undrains a node with a click (seen on the page and in
// SHOW NODES), and lists those events. Without the token the data endpoint answers 401. Values from
// the server go into the DOM as text only (checked with hostile names). A screenshot is saved in a
// temporary folder; MERIDIAN_UPDATE_SCREENSHOT=1 also writes docs/operator-page.png for README.

import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRows, startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { launchBrowser } from '../support/browser.js';
import { sleep, startPrimaryStandby, waitFor, type PhysicalCluster } from '../support/cluster.js';

const TOKEN = 'operator-page-test-token-7f3a';
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cluster: PhysicalCluster;
let mer: RunningMeridian;
let browser: Browser | null = null;
let page: Page;
let shotDir: string;
let isLoadOn = true;
let load: Promise<void> = Promise.resolve();
const pageErrors: string[] = [];

const base = (): string => `http://127.0.0.1:${mer.http!.port}`;

interface RowView {
  name: string;
  region: string | null;
  status: string | null;
  state: string;
  readsPerS: string;
  writesPerS: string;
  button: string;
}

/** The node rows as the page shows them. */
function rowsOnPage(p: Page = page): Promise<RowView[]> {
  return p.evaluate(() =>
    Array.from(document.querySelectorAll('tr[data-node]')).map((tr) => {
      const cell = (f: string) => tr.querySelector(`[data-field="${f}"]`)?.textContent ?? '';
      return {
        name: tr.getAttribute('data-node') ?? '',
        region: tr.closest('[data-region]')?.getAttribute('data-region') ?? null,
        status: tr.getAttribute('data-status'),
        state: cell('state'),
        readsPerS: cell('reads'),
        writesPerS: cell('writes'),
        button: tr.querySelector('button')?.textContent ?? '',
      };
    }),
  );
}

const eventsOnPage = (): Promise<string[]> => page.evaluate(() => Array.from(document.querySelectorAll('#events li .text')).map((e) => e.textContent ?? ''));

async function rowOf(name: string): Promise<RowView | undefined> {
  return (await rowsOnPage()).find((r) => r.name === name);
}

/** Types the token into the page's form and submits it. */
async function signIn(p: Page, token: string): Promise<void> {
  await p.waitForSelector('#login:not([hidden]) #token', { timeout: 15_000 });
  await p.type('#token', token);
  await p.click('#login-submit');
}

/** Reads and writes through Meridian, about 10 a second, until the test ends (errors during faults are expected). */
async function runLoad(): Promise<void> {
  let client: pg.Client | null = null;
  let i = 0;
  while (isLoadOn) {
    try {
      if (client === null) {
        client = new pg.Client(mer.dsn());
        client.on('error', () => {});
        await client.connect();
      }
      await client.query(i++ % 3 === 0 ? 'insert into page_items(v) values (1)' : 'select count(*) from page_items');
    } catch {
      await client?.end().catch(() => {});
      client = null;
    }
    await sleep(100);
  }
  await client?.end().catch(() => {});
}

beforeAll(async () => {
  shotDir = mkdtempSync(join(tmpdir(), 'meridian-page-'));
  cluster = await startPrimaryStandby({ standbys: 2 });
  await cluster.exec(
    'create table page_items(id bigserial primary key, v int); grant all on page_items to public; grant all on sequence page_items_id_seq to public',
  );
  await cluster.waitReplayed(60_000);
  const [p, s1, s2] = [cluster.node('primary'), cluster.node('s1'), cluster.node('s2')];
  mer = await startMeridian(cluster, {
    kind: 'physical',
    health: 'interval: 200ms, timeout: 1s, rise: 1, fall: 2',
    adminHttp: { token: TOKEN },
    nodes: [
      { name: 'primary', host: p.host, port: p.port, region: 'eu' },
      { name: 's1', host: s1.host, port: s1.port, region: 'eu' },
      { name: 's2', host: s2.host, port: s2.port, region: 'us' },
    ],
    extraYaml: [
      'drain: { timeout: 5s }',
      'routing: { readmit_max_lag: 10s, max_read_lag: 10s }',
      'residency:',
      '  rules:',
      '    - { name: eu-only, match: { tenant: acme-eu }, regions: [eu] }',
      '    - { name: us-reports, match: { application_name: us-reports }, regions: [us] }',
    ].join('\n'),
  });
  await waitFor(() => mer.m.snapshot().nodes.every((n) => n.isUp && n.lagMs !== null), { timeoutMs: 60_000, what: 'every node up with a known lag' });
  load = runLoad();
  browser = await launchBrowser();
  page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  await page.setViewport({ width: 1280, height: 860 });
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${(e as Error).message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
}, 240_000);

afterAll(async () => {
  isLoadOn = false;
  await load;
  if (browser !== null) {
    const proc = browser.process();
    await Promise.race([browser.close(), sleep(15_000)]).catch(() => {});
    if (proc !== null && proc.exitCode === null) proc.kill('SIGKILL');
  }
  await mer?.stop();
  await cluster?.stop();
  console.log(`operator page screenshots: ${shotDir}`);
}, 120_000);

describe('the operator page over HTTP', () => {
  it('serves a shell with no data and a strict CSP, the script from its own path; the data needs the token (401)', async () => {
    const shell = await fetch(`${base()}/ui`);
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = shell.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(shell.headers.get('x-content-type-options')).toBe('nosniff');
    expect(shell.headers.get('cache-control')).toBe('no-store');
    const html = await shell.text();
    expect(html).toContain('<script src="/ui/app.js" defer></script>');
    expect(html).not.toMatch(/<script>|<style>| on\w+=/); // nothing inline
    for (const n of cluster.nodes) expect(html).not.toContain(String(n.port));
    const script = await fetch(`${base()}/ui/app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);

    expect((await fetch(`${base()}/ui/state`)).status).toBe(401);
    expect((await fetch(`${base()}/ui/state`, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
    const ok = await fetch(`${base()}/ui/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const state = (await ok.json()) as { regions: { region: string; nodes: { name: string; status: string }[] }[] };
    expect(state.regions.map((g) => [g.region, g.nodes.map((n) => n.name)])).toEqual([
      ['eu', ['primary', 's1']],
      ['us', ['s2']],
    ]);
  });
});

describe('the operator page in Chromium', () => {
  it('asks for the token, refuses a wrong one, then shows every node by region, the residency rules and live rates', async () => {
    await page.goto(`${base()}/ui`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
    await signIn(page, 'not-the-token');
    await page.waitForFunction(() => (document.getElementById('login-error')?.textContent ?? '').includes('401'), { timeout: 15_000 });
    await signIn(page, TOKEN);
    const rows = await waitFor(
      async () => {
        const r = await rowsOnPage();
        return r.length === 3 && r.every((x) => x.status === 'up') ? r : null;
      },
      { timeoutMs: 20_000, what: 'three nodes up on the page' },
    );
    expect(rows.map((r) => [r.region, r.name, r.state, r.button])).toEqual([
      ['eu', 'primary', 'active', 'DRAIN'],
      ['eu', 's1', 'active', 'DRAIN'],
      ['us', 's2', 'active', 'DRAIN'],
    ]);
    const rules = await page.evaluate(() =>
      Array.from(document.querySelectorAll('#residency tr[data-rule]')).map((tr) => Array.from(tr.children).map((td) => td.textContent)),
    );
    expect(rules.map((r) => [r[0], r[3], r[4]])).toEqual([
      ['eu-only', 'primary, s1', 'primary'],
      ['us-reports', 's2', 'none'],
    ]);
    // The load (about 10 requests a second) shows as routed reads and writes per second.
    const rates = await waitFor(
      async () => {
        const r = await rowsOnPage();
        const reads = r.reduce((s, x) => s + (Number(x.readsPerS) || 0), 0);
        const writes = r.reduce((s, x) => s + (Number(x.writesPerS) || 0), 0);
        return reads > 0 && writes > 0 ? { reads, writes } : null;
      },
      { timeoutMs: 20_000, what: 'routed reads and writes per second above 0 on the page' },
    );
    console.log(`page rates: ${rates.reads} reads/s, ${rates.writes} writes/s`);
    expect(await page.evaluate(() => sessionStorage.getItem('meridian.token'))).toBe(TOKEN);
  });

  it('shows a node down within 2 s of pg_ctl stop, and the event', async () => {
    await cluster.node('s2').stop('fast');
    const stoppedAt = Date.now();
    await waitFor(async () => (await rowOf('s2'))?.status === 'down', { timeoutMs: 15_000, intervalMs: 20, what: 's2 down on the page' });
    const tookMs = Date.now() - stoppedAt;
    console.log(`s2 shown down ${tookMs} ms after pg_ctl stop returned`);
    expect(tookMs).toBeLessThanOrEqual(2_000);
    await waitFor(async () => (await eventsOnPage()).some((t) => /^s2 (down|evicted)/.test(t)), {
      timeoutMs: 10_000,
      what: 'the "s2 down" (or evicted) event on the page',
    });
    expect((await rowOf('primary'))?.status).toBe('up');
  });

  it('drains a node with a click (the page and SHOW NODES agree), lists the drain, and undrains it', async () => {
    await page.click('tr[data-node="s1"] button[data-verb="drain"]');
    await page.waitForFunction(() => /DRAIN s1: 202/.test(document.getElementById('action-result')?.textContent ?? ''), { timeout: 15_000 });
    await waitFor(async () => (await rowOf('s1'))?.status === 'drained', { timeoutMs: 30_000, what: 's1 drained on the page' });
    const shown = (await adminRows(mer.port, 'SHOW NODES')).find((r) => r.name === 's1');
    expect(shown?.state).toBe('drained');
    expect((await rowOf('s1'))?.button).toBe('UNDRAIN');
    const events = await waitFor(
      async () => {
        const e = await eventsOnPage();
        return e.some((t) => t.startsWith('drain of s1 started')) && e.some((t) => t.startsWith('s1 drained')) ? e : null;
      },
      { timeoutMs: 10_000, what: 'the drain events on the page' },
    );
    console.log(`events on the page:\n  ${events.join('\n  ')}`);
    await saveScreenshot('drained');

    await page.click('tr[data-node="s1"] button[data-verb="undrain"]');
    await waitFor(async () => (await rowOf('s1'))?.status === 'up', { timeoutMs: 30_000, what: 's1 back up (readmitted) on the page' });
    expect((await adminRows(mer.port, 'SHOW NODES')).find((r) => r.name === 's1')?.state).toBe('active');
    expect(pageErrors).toEqual([]);
  });

  it('puts hostile names into the page as text, never as markup', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const state = {
      takenAtMs: Date.now(),
      pollMs: 1000,
      regions: [
        {
          region: '<b>eu</b>',
          nodes: [
            {
              name: evil,
              region: '<b>eu</b>',
              role: 'master',
              status: 'down',
              state: 'active',
              isUp: false,
              rttMs: null,
              lagMs: null,
              lagBytes: null,
              readsPerS: null,
              writesPerS: null,
              activeBackends: 0,
              idleBackends: 0,
              drain: null,
              lastError: '<script>window.__pwned=2</script>',
            },
          ],
        },
      ],
      residency: [
        { rule: '<i>r</i>', match: '<u>m</u>', regions: ['<b>eu</b>'], nodes: [evil], masters: [], readable: [], status: 'refusing', sessions: 0, refusals: 0 },
      ],
      events: [{ seq: 1, atMs: Date.now(), kind: 'failover', type: 'node-down', node: evil, text: `${evil} down` }],
    };
    const p = await browser!.newPage();
    try {
      await p.setRequestInterception(true);
      p.on('request', (req) => {
        if (new URL(req.url()).pathname === '/ui/state') void req.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(state) });
        else void req.continue();
      });
      await p.goto(`${base()}/ui`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
      await signIn(p, TOKEN);
      await p.waitForSelector('tr[data-node]', { timeout: 15_000 });
      const seen = await p.evaluate(() => ({
        markup: document.querySelectorAll('main img, main script, main b, main i, main u').length,
        name: document.querySelector('tr[data-node] [data-field="name"]')?.textContent,
        note: document.querySelector('tr[data-node] [data-field="note"]')?.textContent,
        region: document.querySelector('[data-region] h3')?.textContent,
        event: document.querySelector('#events li .text')?.textContent,
        pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
      }));
      expect(seen).toEqual({
        markup: 0,
        name: evil,
        note: '<script>window.__pwned=2</script>',
        region: 'region <b>eu</b>',
        event: `${evil} down`,
        pwned: null,
      });
    } finally {
      await p.close();
    }
  });
});

async function saveScreenshot(name: string): Promise<void> {
  const file = join(shotDir, `operator-page-${name}.png`);
  await page.screenshot({ path: file as `${string}.png`, fullPage: true });
  console.log(`screenshot: ${file}`);
  if (process.env.MERIDIAN_UPDATE_SCREENSHOT === '1') {
    mkdirSync(join(REPO, 'docs'), { recursive: true });
    copyFileSync(file, join(REPO, 'docs', 'operator-page.png'));
    console.log('docs/operator-page.png updated');
  }
}
