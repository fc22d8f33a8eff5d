// SCRAM-SHA-256 against the example exchange of RFC 7677 section 3 (user "user", password "pencil"),
// both roles: Meridian's client (logins to nodes: ScramClient with keys from deriveClientKeys, as
// server-connect.ts uses them) and Meridian's server (client logins: ScramServer over the verifier).
// The nonces are the RFC's; everything else is computed. No sockets.

import { describe, expect, it } from 'vitest';
import { ScramClient, ScramServer, scramSecret } from '../../../src/auth/scram.js';
import { deriveClientKeys } from '../../../src/auth/scram-keys.js';

const PASSWORD = 'pencil';
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE_SUFFIX = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const CLIENT_FIRST = `n,,n=user,r=${CLIENT_NONCE}`;
const SERVER_FIRST = `r=${CLIENT_NONCE}${SERVER_NONCE_SUFFIX},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`;
const CLIENT_FINAL = `c=biws,r=${CLIENT_NONCE}${SERVER_NONCE_SUFFIX},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`;
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

describe('RFC 7677 example exchange', () => {
  it('client role: client-first, the proof in client-final, and the server signature verify as published', async () => {
    const client = new ScramClient(CLIENT_NONCE, 'user');
    expect(client.first()).toBe(CLIENT_FIRST);
    const asked = client.parseServerFirst(SERVER_FIRST);
    expect(asked).toEqual({ nonce: CLIENT_NONCE + SERVER_NONCE_SUFFIX, salt: SALT, iterations: 4096 });
    const keys = await deriveClientKeys(PASSWORD, asked!.salt, asked!.iterations);
    expect(client.final(keys)).toBe(CLIENT_FINAL);
    expect(client.verify(SERVER_FINAL)).toBe(true);
  });

  it('client role: a server signature one character off does not verify', async () => {
    const client = new ScramClient(CLIENT_NONCE, 'user');
    client.first();
    const asked = client.parseServerFirst(SERVER_FIRST)!;
    client.final(await deriveClientKeys(PASSWORD, asked.salt, asked.iterations));
    expect(client.verify(SERVER_FINAL.replace('v=6', 'v=7'))).toBe(false);
  });

  it('server role: server-first as published, the published client-final accepted with the published signature', () => {
    const server = new ScramServer(scramSecret(PASSWORD, SALT, 4096), SERVER_NONCE_SUFFIX);
    expect(server.first(CLIENT_FIRST)).toBe(SERVER_FIRST);
    expect(server.final(CLIENT_FINAL)).toBe(SERVER_FINAL);
    expect(server.clientKey).not.toBeNull();
  });

  it('server role: the published client-final is refused for another password', () => {
    const server = new ScramServer(scramSecret('pencil2', SALT, 4096), SERVER_NONCE_SUFFIX);
    expect(server.first(CLIENT_FIRST)).toBe(SERVER_FIRST);
    expect(server.final(CLIENT_FINAL)).toBeNull();
    expect(server.clientKey).toBeNull();
  });
});
