// Causal tokens (router/causal-token.ts) and a session's token state (frontend/session-causal.ts):
// a token round-trips, is small, and anything malformed, foreign (a node this cluster does not
// have) or from far in the future is refused with a reason; the presented mark is decoded once
// per value and stops binding once satisfied. Pure.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCausalToken, encodeCausalToken, MAX_FUTURE_MS } from '../../../src/router/causal-token.js';
import { SessionCausal } from '../../../src/frontend/session-causal.js';

const NODES = ['n1', 'n2', 'eu-west-1a'];
const NOW = 1_800_000_000_000;

describe('causal tokens', () => {
  it('round-trips a write mark and stays small', () => {
    const t = encodeCausalToken({ node: 'eu-west-1a', atMs: NOW - 5 });
    expect(t).toMatch(/^mct1\.[A-Za-z0-9_-]+$/);
    expect(t.length).toBeLessThan(64);
    expect(decodeCausalToken(t, NODES, NOW)).toEqual({ ok: true, mark: { node: 'eu-west-1a', atMs: NOW - 5, isCausal: true } });
    expect(decodeCausalToken(`  ${t} `, NODES, NOW).ok).toBe(true);
  });

  it('refuses malformed tokens, tokens of another cluster and tokens from the future', () => {
    const bad = ['', 'mct1.', 'mct1.!!!', 'mct2.WyJuMSIsMV0', 'hello', 'mct1.' + 'A'.repeat(600)];
    bad.push('mct1.' + Buffer.from('{"node":"n1"}').toString('base64url'));
    bad.push('mct1.' + Buffer.from('["n1",-1]').toString('base64url'));
    bad.push('mct1.' + Buffer.from('["n1",1.5]').toString('base64url'));
    bad.push('mct1.' + Buffer.from('["n1",1,2]').toString('base64url'));
    for (const t of bad) expect(decodeCausalToken(t, NODES, NOW), t).toEqual({ ok: false, reason: 'not a causal token' });
    const foreign = decodeCausalToken(encodeCausalToken({ node: 'other', atMs: NOW }), NODES, NOW);
    expect(foreign.ok).toBe(false);
    expect(!foreign.ok && foreign.reason).toMatch(/node "other", which this cluster does not have/);
    expect(decodeCausalToken(encodeCausalToken({ node: 'n1', atMs: NOW + MAX_FUTURE_MS + 1 }), NODES, NOW).ok).toBe(false);
    expect(decodeCausalToken(encodeCausalToken({ node: 'n1', atMs: NOW + MAX_FUTURE_MS }), NODES, NOW).ok).toBe(true);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 700 }), (s) => {
        const d = decodeCausalToken(s, NODES, NOW);
        expect(typeof d.ok).toBe('boolean');
        const prefixed = decodeCausalToken('mct1.' + Buffer.from(s).toString('base64url'), NODES, NOW);
        expect(typeof prefixed.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

describe("a session's causal state", () => {
  it('shows the last write token, else the presented one, else nothing', () => {
    const c = new SessionCausal();
    expect(c.shown(null)).toBe('');
    expect(c.shown('mct1.x')).toBe('mct1.x');
    const t = c.wrote('n2', NOW);
    expect(decodeCausalToken(t, NODES, NOW)).toEqual({ ok: true, mark: { node: 'n2', atMs: NOW, isCausal: true } });
    expect(c.shown('mct1.x')).toBe(t);
  });

  it('decodes the presented token once per value; satisfied, it binds no more until another value', () => {
    const c = new SessionCausal();
    let decoded = 0;
    const nodes = () => {
      decoded++;
      return NODES;
    };
    const t = encodeCausalToken({ node: 'n1', atMs: NOW });
    expect(c.markFor(t, nodes, NOW)).toEqual({ node: 'n1', atMs: NOW, isCausal: true });
    expect(c.markFor(t, nodes, NOW)).not.toBeNull();
    expect(decoded).toBe(1);
    c.satisfied();
    expect(c.markFor(t, nodes, NOW)).toBeNull();
    const t2 = encodeCausalToken({ node: 'n2', atMs: NOW });
    expect(c.markFor(t2, nodes, NOW)?.node).toBe('n2');
    expect(c.markFor(null, nodes, NOW)).toBeNull();
    // A token naming a node a reload removed no longer binds.
    expect(c.markFor(encodeCausalToken({ node: 'gone', atMs: NOW }), nodes, NOW)).toBeNull();
  });
});
