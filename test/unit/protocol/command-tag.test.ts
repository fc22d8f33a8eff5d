// commandTagIs: a CommandComplete tag compared as bytes, inside a larger buffer (as frames are
// views of a read buffer), exact matches only.
import { describe, expect, it } from 'vitest';
import { commandTagIs } from '../../../src/protocol/messages.js';

/** A CommandComplete frame for `tag`, placed at `offset` in a buffer with other bytes around it. */
function frameAt(tag: string, offset: number): { buf: Buffer; start: number; end: number } {
  const body = Buffer.from(`${tag}\0`, 'latin1');
  const buf = Buffer.alloc(offset + 5 + body.length + 7, 0x41);
  buf[offset] = 0x43; // 'C'
  buf.writeInt32BE(4 + body.length, offset + 1);
  body.copy(buf, offset + 5);
  return { buf, start: offset, end: offset + 5 + body.length };
}

describe('commandTagIs', () => {
  const COMMIT = Buffer.from('COMMIT');
  it('matches the exact tag wherever the frame sits', () => {
    for (const offset of [0, 3, 100]) {
      const f = frameAt('COMMIT', offset);
      expect(commandTagIs(f.buf, f.start, f.end, COMMIT)).toBe(true);
    }
  });
  it('does not match a longer, shorter or different tag', () => {
    for (const tag of ['COMMIT PREPARED', 'COMMI', 'ROLLBACK', 'SELECT 1', '']) {
      const f = frameAt(tag, 2);
      expect(commandTagIs(f.buf, f.start, f.end, COMMIT), tag).toBe(false);
    }
  });
});
