// SCRAM pieces (issue 14): fake verifiers for unknown users, stored-secret parsing (including
// hostile text), the server's proof checks, and pass-through (a ClientKey recovered from a
// client's proof logs in to a server holding the same secret). No sockets.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ScramClient,
  ScramServer,
  configuredSalt,
  formatStoredSecret,
  keysFromSalted,
  md5FromHash,
  md5Hash,
  md5Response,
  mockSecret,
  parseStoredSecret,
  scramSecret,
  type ScramSecret,
} from '../../../src/auth/scram.js';

const keysFor = (password: string, s: ScramSecret) => keysFromSalted(pbkdf2Sync(password, s.salt, s.iterations, 32, 'sha256'));

/** One exchange: returns the server's final message (null: refused) and the server. */
function exchange(secret: ScramSecret, password: string, tamper?: (clientFinal: string) => string) {
  const server = new ScramServer(secret);
  const client = new ScramClient();
  const serverFirst = server.first(client.first());
  expect(serverFirst).not.toBeNull();
  const parsed = client.parseServerFirst(serverFirst!);
  expect(parsed).not.toBeNull();
  const clientFinal = client.final(keysFromSalted(pbkdf2Sync(password, parsed!.salt, parsed!.iterations, 32, 'sha256')));
  const serverFinal = server.final(tamper ? tamper(clientFinal) : clientFinal);
  return { serverFinal, server, client };
}

describe('fake verifier for unknown users', () => {
  const key = randomBytes(32);
  it('has a salt stable for one name, different between names and between keys, and the real iteration count', () => {
    expect(mockSecret(key, 'nobody').salt).toEqual(mockSecret(key, 'nobody').salt);
    expect(mockSecret(key, 'nobody').salt).not.toEqual(mockSecret(key, 'nobody2').salt);
    expect(mockSecret(randomBytes(32), 'nobody').salt).not.toEqual(mockSecret(key, 'nobody').salt);
    expect(mockSecret(key, 'nobody').iterations).toBe(4096);
    expect(mockSecret(key, 'nobody').salt.length).toBe(16);
  });
  it('salts like a configured user: the same derivation, so the shapes match', () => {
    expect(configuredSalt(key, 'app')).toEqual(mockSecret(key, 'app').salt);
  });
  it('refuses every proof, even one made for its own salt', () => {
    const fake = mockSecret(key, 'nobody');
    expect(exchange(fake, 'anything').serverFinal).toBeNull();
    expect(exchange(fake, '').serverFinal).toBeNull();
  });
});

describe('stored SCRAM secrets', () => {
  const real = scramSecret('app-secret', randomBytes(16), 4096);
  const text = formatStoredSecret(real);

  it('parses pg_authid text and verifies the password it was made from', () => {
    const parsed = parseStoredSecret(text)!;
    expect(parsed).not.toBeNull();
    expect(parsed.iterations).toBe(4096);
    expect(parsed.storedKey).toEqual(real.storedKey);
    expect(exchange(parsed, 'app-secret').serverFinal).toMatch(/^v=/);
    expect(exchange(parsed, 'app-secreT').serverFinal).toBeNull();
  });

  const hostile = [
    '',
    'SCRAM-SHA-256$',
    'SCRAM-SHA-256$4096:$:',
    'md5abcdef',
    'app-secret',
    text.replace('SCRAM-SHA-256', 'SCRAM-SHA-1'),
    text.replace('$4096:', '$0:'),
    text.replace('$4096:', '$-1:'),
    text.replace('$4096:', '$99999999999:'),
    text.replace('$4096:', '$4096.5:'),
    text.replace('$4096:', '$ 4096:'),
    text + '$',
    text + ':',
    text + 'x',
    `${text}\n`,
    text.replace(/:([^:$]+)$/, ':AAAA'), // ServerKey not 32 bytes
    text.replace(/\$([^$:]+):/, '$!!!!:'), // StoredKey not base64 (position: after the salt's $)
    `SCRAM-SHA-256$4096:${'A'.repeat(4000)}$${real.storedKey.toString('base64')}:${real.serverKey.toString('base64')}`,
    'SCRAM-SHA-256$4096:c2FsdA==$' + 'A'.repeat(100000),
    '\u0000SCRAM-SHA-256$4096:c2FsdA==$a:b',
  ];
  it.each(hostile.map((h) => [h.slice(0, 60), h]))('refuses %j', (_label, h) => {
    expect(parseStoredSecret(h)).toBeNull();
  });
});

describe('server-side proof checks', () => {
  const secret = scramSecret('pw', randomBytes(16), 4096);
  it('accepts the right password and returns the signature the client verifies', () => {
    const { serverFinal, client, server } = exchange(secret, 'pw');
    expect(serverFinal).not.toBeNull();
    expect(client.verify(serverFinal!)).toBe(true);
    expect(server.clientKey).toEqual(keysFor('pw', secret).clientKey);
  });
  it('refuses a wrong password, a changed nonce, channel-binding data and a truncated proof', () => {
    expect(exchange(secret, 'pW').serverFinal).toBeNull();
    expect(exchange(secret, 'pw', (m) => m.replace('r=', 'r=x')).serverFinal).toBeNull();
    expect(exchange(secret, 'pw', (m) => m.replace('c=biws', 'c=cD10bHMtdW5pcXVlLCw=')).serverFinal).toBeNull();
    expect(exchange(secret, 'pw', (m) => m.slice(0, -8)).serverFinal).toBeNull();
    expect(exchange(secret, 'pw', (m) => m + ',p=').serverFinal).toBeNull();
  });
  it('refuses malformed client-first messages and a final before the first', () => {
    const s = () => new ScramServer(secret);
    for (const m of ['', 'p=tls-server-end-point,,n=,r=abc', 'n,,n=,r=', 'n,,n=', 'x,,n=,r=abc', `n,,n=,r=${'a'.repeat(5000)}`]) {
      expect(s().first(m)).toBeNull();
    }
    expect(s().final('c=biws,r=abc,p=AAAA')).toBeNull();
  });
  it('a client refuses a server signature that does not verify, and one sent before its final', () => {
    const { client } = exchange(secret, 'pw');
    expect(client.verify('v=AAAA')).toBe(false);
    expect(new ScramClient().verify('v=AAAA')).toBe(false);
  });
  it('a client refuses a server-first whose nonce does not extend its own, or with a bad salt or count', () => {
    const c = new ScramClient();
    c.first();
    expect(c.parseServerFirst('r=other,s=c2FsdA==,i=4096')).toBeNull();
    const mine = /r=([^,]+)/.exec(c.first())![1];
    expect(c.parseServerFirst(`r=${mine},s=c2FsdA==,i=4096`)).toBeNull(); // must add a server part
    expect(c.parseServerFirst(`r=${mine}x,s=!!,i=4096`)).toBeNull();
    expect(c.parseServerFirst(`r=${mine}x,s=c2FsdA==,i=0`)).toBeNull();
    expect(c.parseServerFirst(`r=${mine}x,s=c2FsdA==,i=1e9`)).toBeNull();
    expect(c.parseServerFirst(`r=${mine}x,s=c2FsdA==,i=4096`)?.iterations).toBe(4096);
  });
});

describe('SCRAM pass-through', () => {
  it('the ClientKey recovered from one login logs in to another server holding the same secret', () => {
    const secret = parseStoredSecret(formatStoredSecret(scramSecret('pw', randomBytes(16), 4096)))!;
    const { server } = exchange(secret, 'pw');
    const clientKey = server.clientKey!;
    const node = new ScramServer(secret);
    const client = new ScramClient();
    client.parseServerFirst(node.first(client.first())!);
    const fin = node.final(client.final({ clientKey, serverKey: secret.serverKey }));
    expect(fin).not.toBeNull();
    expect(client.verify(fin!)).toBe(true);
  });
});

describe('md5', () => {
  it('answers from the stored hash as from the password', () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    expect(md5FromHash(md5Hash('u', 'p'), salt)).toBe(md5Response('u', 'p', salt));
    expect(md5Hash('md5user', 'md5-secret')).toMatch(/^md5[0-9a-f]{32}$/);
  });
});
