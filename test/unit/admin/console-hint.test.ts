// Issue 16, bug 7: the hint of "unknown admin command" was a hand-written list that missed SHOW
// ROUTES and SHOW HELP. It is derived from the command table: every command appears in it.
import { describe, expect, it } from 'vitest';
import { AdminConsole, COMMANDS } from '../../../src/admin/console.js';
import type { AdminHost, AdminSession } from '../../../src/admin/types.js';
import { MeridianError } from '../../../src/errors.js';

/** The command's keywords, without its arguments: "DRAIN <node> …" → "DRAIN". */
const keywords = (usage: string) => usage.split(/\s+[<[]/)[0]!;

describe('unknown admin command', () => {
  it('the hint names every command of the table', async () => {
    const host = { metrics: { setSources() {} }, topology: { onEvent: () => () => {} } } as unknown as AdminHost;
    const err = await new AdminConsole(host).query('frobnicate the nodes', {} as AdminSession).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MeridianError);
    const hint = (err as MeridianError).hint ?? '';
    console.log(`hint: ${hint}`);
    const missing = COMMANDS.map((c) => keywords(c.usage)).filter((k) => !hint.includes(k));
    expect(missing).toEqual([]);
    expect((err as MeridianError).sqlstate).toBe('42601');
  });
});
