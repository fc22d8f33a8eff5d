// Every encoder of encode.ts (frames Meridian sends to clients) read back by pg-protocol's Parser,
// the decoder node-postgres uses: each frame parses as the message it claims with the same fields,
// and a stream of all of them parses the same whole, split at every byte offset, and byte by byte.

import { describe, expect, it } from 'vitest';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { TxStatus } from '../../../src/protocol/codes.js';
import {
  AUTH_CLEARTEXT,
  AUTH_OK,
  CLOSE_COMPLETE,
  EMPTY_QUERY,
  PARSE_COMPLETE,
  READY_FAILED,
  READY_IDLE,
  READY_IN_TX,
  SSL_NO,
  SSL_YES,
  authMd5,
  authSasl,
  authSaslContinue,
  authSaslFinal,
  backendKeyData,
  commandComplete,
  dataRow,
  errorResponse,
  parameterStatus,
  readyForQuery,
  resultSet,
  rowDescription,
} from '../../../src/protocol/encode.js';

type Message = BackendMessage & Record<string, unknown>;

/**
 * Parses `chunks` in order with one Parser; every message it produced. Each chunk is copied first: the
 * Parser owns what it is given (it moves a partial frame to the start of the chunk it kept).
 */
function parse(...chunks: Buffer[]): Message[] {
  const parser = new Parser();
  const out: Message[] = [];
  for (const c of chunks) parser.parse(Buffer.from(c), (m) => out.push(m as Message));
  return out;
}

/** The same, each message as JSON taken when it is delivered (its byte fields are views of the Parser's buffer). */
function parseToJson(...chunks: Buffer[]): string {
  const parser = new Parser();
  const out: string[] = [];
  for (const c of chunks) parser.parse(Buffer.from(c), (m) => out.push(JSON.stringify(m)));
  return out.join('\n');
}

/** The single message of one frame (the frame must hold exactly one, with the right length). */
function one(frame: Buffer): Message {
  const msgs = parse(frame);
  expect(msgs).toHaveLength(1);
  expect(msgs[0]!.length).toBe(frame.length - 1);
  return msgs[0]!;
}

const cases: [string, Buffer, Record<string, unknown>][] = [
  ['READY_IDLE', READY_IDLE, { name: 'readyForQuery', status: 'I' }],
  ['READY_IN_TX', READY_IN_TX, { name: 'readyForQuery', status: 'T' }],
  ['READY_FAILED', READY_FAILED, { name: 'readyForQuery', status: 'E' }],
  ['readyForQuery(idle)', readyForQuery(TxStatus.Idle), { name: 'readyForQuery', status: 'I' }],
  ['readyForQuery(in transaction)', readyForQuery(TxStatus.InTransaction), { name: 'readyForQuery', status: 'T' }],
  ['readyForQuery(failed)', readyForQuery(TxStatus.Failed), { name: 'readyForQuery', status: 'E' }],
  ['PARSE_COMPLETE', PARSE_COMPLETE, { name: 'parseComplete' }],
  ['CLOSE_COMPLETE', CLOSE_COMPLETE, { name: 'closeComplete' }],
  ['EMPTY_QUERY', EMPTY_QUERY, { name: 'emptyQuery' }],
  ['AUTH_OK', AUTH_OK, { name: 'authenticationOk' }],
  ['AUTH_CLEARTEXT', AUTH_CLEARTEXT, { name: 'authenticationCleartextPassword' }],
  ['authMd5', authMd5(Buffer.from([1, 2, 0xfe, 0xff])), { name: 'authenticationMD5Password', salt: Buffer.from([1, 2, 0xfe, 0xff]) }],
  ['authSasl', authSasl(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']), { name: 'authenticationSASL', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'] }],
  ['authSaslContinue', authSaslContinue('r=abc,s=c2FsdA==,i=4096'), { name: 'authenticationSASLContinue', data: 'r=abc,s=c2FsdA==,i=4096' }],
  ['authSaslFinal', authSaslFinal('v=c2lnbmF0dXJl'), { name: 'authenticationSASLFinal', data: 'v=c2lnbmF0dXJl' }],
  ['parameterStatus', parameterStatus('application_name', 'añ 名'), { name: 'parameterStatus', parameterName: 'application_name', parameterValue: 'añ 名' }],
  ['parameterStatus (empty value)', parameterStatus('search_path', ''), { name: 'parameterStatus', parameterName: 'search_path', parameterValue: '' }],
  ['backendKeyData', backendKeyData(0x7fffffff, -2), { name: 'backendKeyData', processID: 0x7fffffff, secretKey: -2 }],
  ['commandComplete', commandComplete('SHOW 3'), { name: 'commandComplete', text: 'SHOW 3' }],
  [
    'errorResponse (detail and hint)',
    errorResponse({ severity: 'FATAL', code: '57P03', message: 'no master for "app" — écrit', detail: 'node n1 is down', hint: 'retry later' }),
    { name: 'error', severity: 'FATAL', code: '57P03', message: 'no master for "app" — écrit', detail: 'node n1 is down', hint: 'retry later' },
  ],
  [
    'errorResponse (no detail, no hint)',
    errorResponse({ severity: 'ERROR', code: '08006', message: 'backend lost', detail: null }),
    { name: 'error', severity: 'ERROR', code: '08006', message: 'backend lost', detail: undefined, hint: undefined },
  ],
  ['dataRow', dataRow(['1', null, '', 'ü名']), { name: 'dataRow', fieldCount: 4, fields: ['1', null, '', 'ü名'] }],
  ['dataRow (no columns)', dataRow([]), { name: 'dataRow', fieldCount: 0, fields: [] }],
];

describe('encode.ts through pg-protocol Parser', () => {
  it.each(cases)('%s parses as the same message', (_label, frame, expected) => {
    expect(one(frame)).toMatchObject(expected);
  });

  it('the error frame carries its severity in V too (non-localized), which the Parser ignores: read it by hand', () => {
    const f = errorResponse({ severity: 'ERROR', code: '42501', message: 'm' });
    const text = f.toString('utf8', 5);
    expect(text).toBe('SERROR\0VERROR\0C42501\0Mm\0\0');
  });

  it('rowDescription: names, type oids (default text), and the fixed fields', () => {
    const m = one(rowDescription([{ name: 'node' }, { name: 'lag_bytes', typeOid: 20 }, { name: 'ñame' }]));
    expect(m).toMatchObject({ name: 'rowDescription', fieldCount: 3 });
    expect(m['fields']).toEqual([
      { name: 'node', tableID: 0, columnID: 0, dataTypeID: 25, dataTypeSize: -1, dataTypeModifier: -1, format: 'text' },
      { name: 'lag_bytes', tableID: 0, columnID: 0, dataTypeID: 20, dataTypeSize: -1, dataTypeModifier: -1, format: 'text' },
      { name: 'ñame', tableID: 0, columnID: 0, dataTypeID: 25, dataTypeSize: -1, dataTypeModifier: -1, format: 'text' },
    ]);
  });

  it('resultSet: RowDescription, one DataRow per row, CommandComplete with the default or the given tag', () => {
    const cols = [{ name: 'a' }, { name: 'b', typeOid: 20 }];
    const msgs = parse(
      resultSet(cols, [
        ['x', '1'],
        [null, '2'],
      ]),
    );
    expect(msgs.map((m) => m.name)).toEqual(['rowDescription', 'dataRow', 'dataRow', 'commandComplete']);
    expect(msgs[1]!['fields']).toEqual(['x', '1']);
    expect(msgs[2]!['fields']).toEqual([null, '2']);
    expect(msgs[3]!['text']).toBe('SELECT 2');
    expect(parse(resultSet(cols, [], 'SHOW'))[1]).toMatchObject({ name: 'commandComplete', text: 'SHOW' });
  });

  it('SSL answers are the single bytes N and S (not frames)', () => {
    expect([...SSL_NO]).toEqual([0x4e]);
    expect([...SSL_YES]).toEqual([0x53]);
  });

  it('constant frames are not changed by encoding other frames after them (the writer is shared)', () => {
    const before = Buffer.from(READY_IDLE);
    commandComplete('x'.repeat(5000));
    dataRow(['y'.repeat(3000)]);
    expect(READY_IDLE.equals(before)).toBe(true);
    expect(one(READY_IDLE)).toMatchObject({ status: 'I' });
  });

  it('a stream of every frame parses the same whole, split at every offset, and one byte at a time', () => {
    const stream = Buffer.concat([...cases.map((c) => c[1]), rowDescription([{ name: 'c' }]), resultSet([{ name: 'a' }], [['1']])]);
    expect(parse(stream)).toHaveLength(cases.length + 1 + 3);
    const expected = parseToJson(stream);
    for (let at = 1; at < stream.length; at++) {
      expect(parseToJson(stream.subarray(0, at), stream.subarray(at))).toBe(expected);
    }
    const bytes: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
    expect(parseToJson(...bytes)).toBe(expected);
  });
});
