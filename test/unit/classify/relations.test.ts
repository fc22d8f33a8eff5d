// What a statement reads (classify/relations.ts) and where its names may resolve, and the
// router's mask that leaves out nodes holding one of them without replicating it.

import { beforeAll, describe, expect, it } from 'vitest';
import { candidateNames, RelationsCache, relationsOfSql, searchPathOf } from '../../../src/classify/relations.js';
import { ensureParser } from '../../../src/classify/parser.js';
import { UNKNOWN_RELATION, withoutUnreplicated } from '../../../src/router/route-index.js';
import { node, snap } from '../router/fixtures.js';

beforeAll(async () => {
  await ensureParser();
});

describe('relations a statement names', () => {
  it('every RangeVar, less CTE names; as the parser folds them', () => {
    const r = relationsOfSql('with x as (select 1) select * from public.A join "B" on true, x, lateral (select * from c.d) s where exists (select 1 from e)');
    expect([...r!].sort()).toEqual(['B', 'c.d', 'e', 'public.a']);
    expect(relationsOfSql('select 1')).toEqual([]);
    expect(relationsOfSql('select from t; select from u')).toEqual(['t', 'u']);
    expect(relationsOfSql('prepare q as select v from lg_local')).toEqual(['lg_local']);
    expect(relationsOfSql('selec nothing')).toBeNull(); // does not parse: unknown
  });

  it('the cache answers the same', () => {
    const c = new RelationsCache();
    expect(c.of('select * from t')).toEqual(['t']);
    expect(c.of('select * from t')).toEqual(['t']);
    expect(c.of('nonsense (')).toBeNull();
    expect(c.of('nonsense (')).toBeNull();
  });

  it('search_path from the SET that set it; unqualified names expand over it', () => {
    expect(searchPathOf(undefined)).toEqual(['$user', 'public']);
    expect(searchPathOf('SET search_path = s2, public')).toEqual(['s2', 'public']);
    expect(searchPathOf(`SET search_path TO "My Schema", 'x'`)).toEqual(['My Schema', 'x']);
    expect(searchPathOf('set search_path to default')).toEqual(['$user', 'public']);
    expect(candidateNames(['t', 'a.u'], ['$user', 'public'], 'app')).toEqual(['app.t', 'public.t', 'a.u']);
  });

  it("a node holding a read's table without replicating it is masked out; unknown relations leave out every such node", () => {
    const s = snap(node('p'), node('sub', { role: 'replica', unreplicated: new Set(['public.local']) }), node('full', { role: 'replica' }));
    expect(withoutUnreplicated(s, null, null)).toBeNull();
    expect(withoutUnreplicated(s, null, ['public.t'])).toBeNull();
    expect([...withoutUnreplicated(s, null, ['public.t', 'public.local'])!]).toEqual([1, 0, 1]);
    expect([...withoutUnreplicated(s, null, [UNKNOWN_RELATION])!]).toEqual([1, 0, 1]);
    const regions = new Uint8Array([0, 1, 1]);
    expect([...withoutUnreplicated(s, regions, ['public.local'])!]).toEqual([0, 0, 1]);
    expect([...regions]).toEqual([0, 1, 1]); // the shared mask is not changed
  });
});
