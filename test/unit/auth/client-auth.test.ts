// ClientAuth (issue 14) against a fake proxy context: unknown users answered like default users
// (SCRAM, stable fake salt, refused at the proof), wrong passwords and malformed SASL refused and
// counted, auth.failure_delay as a promise, and what a successful login leaves for the pools
// (pass-through keys, learned auth.query users). No sockets.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ClientAuth, type AuthResult, type AuthStep } from '../../../src/frontend/client-auth.js';
import type { ProxyContext } from '../../../src/frontend/context.js';
import { LearnedLogins } from '../../../src/auth/learned-logins.js';
import { ScramClient, formatStoredSecret, keysFromSalted, md5Response, scramSecret } from '../../../src/auth/scram.js';
import { load, MINIMAL } from '../config/helpers.js';

const STORED = formatStoredSecret(scramSecret('stored-pw', randomBytes(16)));
const YAML =
  MINIMAL.replace(
    '  - { name: app, password: s3cret-app }',
    [
      '  - { name: app, password: s3cret-app }',
      '  - { name: m5, password: m5pw, auth: md5 }',
      '  - { name: plain, password: ppw, auth: password }',
      '  - { name: tr, auth: trust }',
      `  - { name: st, password: "${STORED}" }`,
    ].join('\n'),
  ) + 'auth: { mock_key: unit }\n';

function fakeCtx(extraYaml = '') {
  const cfg = load(YAML + extraYaml);
  const failures: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const learned = new LearnedLogins();
  const ctx = {
    cfg: () => cfg,
    logger: { info: (o: Record<string, unknown>) => logs.push(o), warn: () => undefined },
    metrics: { authFailed: (r: string) => failures.push(r) },
    pools: { learned },
  } as unknown as ProxyContext;
  return { ctx, failures, logs, learned };
}

const sasl = (clientFirst: string): Buffer => {
  const data = Buffer.from(clientFirst);
  const len = Buffer.alloc(4);
  len.writeInt32BE(data.length);
  return Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), len, data]);
};
const body = (step: AuthStep): string => (step.kind === 'fail' ? '' : step.frames.map((f) => f.toString('latin1', 9)).join(''));
const now = (r: AuthResult): AuthStep => {
  expect(r).not.toBeInstanceOf(Promise);
  return r as AuthStep;
};

/** A whole SCRAM login; returns the final step. */
async function scramLogin(auth: ClientAuth, password: string): Promise<{ first: string; final: AuthStep }> {
  expect(body(await auth.start())).toContain('SCRAM-SHA-256');
  const c = new ScramClient();
  const s1 = await auth.onMessage(sasl(c.first()));
  const first = body(s1);
  const parsed = c.parseServerFirst(first)!;
  const keys = keysFromSalted(pbkdf2Sync(password, parsed.salt, parsed.iterations, 32, 'sha256'));
  return { first, final: await auth.onMessage(Buffer.from(c.final(keys))) };
}

describe('ClientAuth', () => {
  it('a known user logs in with SCRAM; the first login may wait for the verifier, later ones are answered at once', async () => {
    const { ctx } = fakeCtx();
    expect((await scramLogin(new ClientAuth(ctx, 'app', '1.2.3.4'), 's3cret-app')).final.kind).toBe('ok');
    const auth = new ClientAuth(ctx, 'app', '1.2.3.4');
    now(auth.start());
    const c = new ScramClient();
    expect(now(auth.onMessage(sasl(c.first()))).kind).toBe('send');
  });

  it('an unknown user is asked for SCRAM, gets a stable salt of the same shape, and is refused at the proof', async () => {
    const { ctx, failures, logs } = fakeCtx();
    const a = await scramLogin(new ClientAuth(ctx, 'ghost', '10.0.0.9'), 'x');
    const b = await scramLogin(new ClientAuth(ctx, 'ghost', '10.0.0.9'), 'y');
    const known = await scramLogin(new ClientAuth(ctx, 'app', '10.0.0.9'), 'wrong');
    const salt = (first: string) => /s=([^,]+)/.exec(first)![1]!;
    const iters = (first: string) => /i=(\d+)/.exec(first)![1];
    expect(salt(a.first)).toBe(salt(b.first));
    expect(salt(a.first).length).toBe(salt(known.first).length);
    expect(iters(a.first)).toBe(iters(known.first));
    expect([a.final.kind, b.final.kind, known.final.kind]).toEqual(['fail', 'fail', 'fail']);
    expect(failures).toEqual(['unknown-user', 'unknown-user', 'wrong-password']);
    expect(logs[0]).toMatchObject({ user: 'ghost', reason: 'unknown-user', clientAddress: '10.0.0.9' });
  });

  it('md5, password and trust users; unknown users under those are still asked for SCRAM', async () => {
    const { ctx } = fakeCtx();
    const m = new ClientAuth(ctx, 'm5', '');
    const req = now(m.start());
    const salt = (req as { frames: Buffer[] }).frames[0]!.subarray(9, 13);
    expect(now(m.onMessage(Buffer.from(`${md5Response('m5', 'm5pw', salt)}\0`))).kind).toBe('ok');
    const p = new ClientAuth(ctx, 'plain', '');
    now(p.start());
    expect(now(p.onMessage(Buffer.from('nope\0'))).kind).toBe('fail');
    expect(now(new ClientAuth(ctx, 'tr', '').start()).kind).toBe('ok');
    expect(body(now(new ClientAuth(ctx, 'ghost', '').start()))).toContain('SCRAM-SHA-256');
  });

  it('malformed SASL messages are refused and counted as malformed', async () => {
    const { ctx, failures } = fakeCtx();
    const cases: Buffer[] = [
      Buffer.from('SCRAM-SHA-256-PLUS\0\0\0\0\0'),
      Buffer.from('SCRAM-SHA-256'),
      Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.from([0xff, 0xff, 0xff, 0xff])]),
      Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.from([0, 0, 1, 0]), Buffer.from('n,,n=,r=abc')]),
      sasl('p=tls-server-end-point,,n=,r=abc'),
    ];
    for (const c of cases) {
      const auth = new ClientAuth(ctx, 'app', '');
      now(auth.start());
      expect((await auth.onMessage(c)).kind).toBe('fail');
    }
    expect(failures).toEqual(cases.map(() => 'malformed'));
    const early = new ClientAuth(ctx, 'app', '');
    expect(now(early.onMessage(Buffer.from('x'))).kind).toBe('fail');
  });

  it('auth.failure_delay answers a failure later, as a promise', async () => {
    const { ctx } = fakeCtx();
    const cfg = load(YAML.replace('auth: { mock_key: unit }', 'auth: { mock_key: unit, failure_delay: 50ms }'));
    const slowCtx = { ...ctx, cfg: () => cfg } as ProxyContext;
    const auth = new ClientAuth(slowCtx, 'plain', '');
    now(auth.start());
    const t0 = performance.now();
    const r = auth.onMessage(Buffer.from('nope\0'));
    expect(r).toBeInstanceOf(Promise);
    expect((await r).kind).toBe('fail');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('a stored-secret user logs in and leaves SCRAM pass-through keys for the pools', async () => {
    const { ctx, learned } = fakeCtx('health: { user: postgres }\n');
    expect((await scramLogin(new ClientAuth(ctx, 'st', ''), 'stored-pw')).final.kind).toBe('ok');
    const secret = learned.secret('st');
    expect(secret?.kind).toBe('scram');
    expect(learned.user('st')).toBeUndefined(); // configured users are not "learned"
    expect((await scramLogin(new ClientAuth(ctx, 'st', ''), 'wrong')).final.kind).toBe('fail');
  });
});
