import t from 'tap';
import { decodeRequestFrame } from '../daemon/src/rpc/exact-data.js';
import { extractPasswords, passwordParam, releaseFramePasswords } from '../daemon/src/rpc/password-frames.js';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { RawConnection } from './helpers/raw-socket.js';

/**
 * Issue 13 §3: a password goes from the request frame's bytes to sodium memory without becoming a
 * JS string. Its bytes must be exactly what Buffer.from(JSON.parse(token)) gave before (else stored
 * passwords would stop matching), and the text JSON.parse sees must hold no trace of it.
 */

const frameOf = (text: string): Buffer => Buffer.from(text, 'utf8');
type Request = { params: Record<string, unknown> };

/** Decodes like the connection does; returns the params and each password member's bytes (copied). */
function decode(text: string): { message: unknown; params: Record<string, unknown>[]; bytes: Array<Record<string, string | undefined>> } {
  const message = decodeRequestFrame(frameOf(text));
  const requests = (Array.isArray(message) ? message : [message]) as Request[];
  const bytes = requests.map((request) => {
    const out: Record<string, string | undefined> = {};
    if (typeof request !== 'object' || request === null || typeof request.params !== 'object' || request.params === null) return out;
    for (const member of ['password', 'oldPassword', 'newPassword']) {
      const value = passwordParam(request.params, member);
      out[member] = value === undefined ? undefined : Buffer.isBuffer(value) ? `bytes:${value.toString('hex')}` : `string:${value}`;
    }
    return out;
  });
  return { message, params: requests.map((r) => r.params), bytes };
}

const hexOf = (password: string): string => `bytes:${Buffer.from(password, 'utf8').toString('hex')}`;

t.test('password bytes are exactly the UTF-8 of the JSON string, escapes included', async (t) => {
  const cases: Array<[string, string]> = [
    ['plain ASCII', '"correct horse"'],
    ['raw UTF-8', '"pässwörd 𝄞"'],
    ['simple escapes', String.raw`"a\"b\\c\/d\b\f\n\r\t"`],
    ['\\u escapes, upper and lower hex', String.raw`"\u00fc\u00FC\u4e2d"`],
    ['a surrogate pair', String.raw`"clef \ud834\udd1e"`],
    ['a lone high surrogate (U+FFFD, as Buffer.from makes it)', String.raw`"x\ud834y"`],
    ['a lone low surrogate', String.raw`"x\udd1e"`],
    ['a high surrogate before a non-low escape', String.raw`"\ud834\u0041"`],
  ];
  for (const [what, token] of cases) {
    const expected = JSON.parse(token) as string;
    const { params, bytes } = decode(`{"jsonrpc":"2.0","id":1,"method":"users.unlock","params":{"username":"a","password":${token}}}`);
    t.equal(bytes[0]!['password'], hexOf(expected), `${what}: the bytes`);
    t.equal(params[0]!['password'], '*'.repeat(expected.length), `${what}: a placeholder as long in characters (the schema checks length)`);
  }
});

t.test('every password member of a request or of each request of a batch; nothing else', async (t) => {
  const { params, bytes, message } = decode(
    '[{"jsonrpc":"2.0","id":1,"method":"users.changePassword","params":{"oldPassword":"old","username":"a","newPassword":"new"}},' +
      ' 7 , {"jsonrpc":"2.0","id":2,"method":"services.encrypted.set","params":{"session":"s","data":{"password":"not a param"},"service":"x"}},' +
      '{"id":3,"params":{"password":"first","password":"last"}}, {"params":[1,{"password":"in an array"}]} ]',
  );
  t.same(bytes[0], { password: undefined, oldPassword: hexOf('old'), newPassword: hexOf('new') });
  t.same((params[2]!['data'] as Record<string, unknown>)['password'], 'not a param', 'data members are user data, left alone');
  t.equal(bytes[3]!['password'], hexOf('last'), 'duplicate members: the last, as JSON.parse keeps');
  t.same(params[4], [1, { password: 'in an array' }], 'params that are not an object are left alone');
  releaseFramePasswords(message);
  releaseFramePasswords(message);
  releaseFramePasswords(null);
  t.pass('released once, then nothing to release');
});

t.test('frames the walk does not take apart are parsed as before', async (t) => {
  t.equal(extractPasswords(frameOf('{"jsonrpc":"2.0","id":1,"method":"users.list","params":{}}')), undefined, 'no password at all');
  t.equal(extractPasswords(frameOf('{"params":{"password":""}}')), undefined, 'an empty password: nothing to protect');
  t.equal(extractPasswords(frameOf('{"params":{"password":7}}')), undefined, 'not a string');
  t.equal(extractPasswords(frameOf('"password"')), undefined, 'not an object');
  // Not valid UTF-8: the old path made U+FFFD of it; the value stays in the text so that still happens.
  const invalid = Buffer.concat([frameOf('{"params":{"password":"a'), Buffer.from([0xff]), frameOf('"}}')]);
  t.equal(extractPasswords(invalid), undefined, 'invalid UTF-8');
  const { bytes } = decode('{"params":{"password":"\u0001"}}'.replace('\u0001', '\\u0001'));
  t.equal(bytes[0]!['password'], hexOf('\u0001'));
  for (const broken of [
    '{"params":{"password":"unterminated',
    '{"params":{"password":"bad \\x escape"}}',
    '{"params":{"password":"bad \\u12"}}',
    '{"params":{"password":"bad \\u12zz"}}',
    '{"params":{"password":"raw control \u0001"}}',
    '{"params":{"password" "no colon"}}',
    '{"params":{"password":"x" "no comma"}}',
    '{"params":{password:"bare key"}}',
    '{"params":{"a":}, "password":"x"}',
    '{"params":{"a":[1,2}}',
    '{"params":{"password":"x","a":[1,{"b":2',
    '[{"params":{"password":"x"}} {"no":"comma"}]',
  ]) {
    t.equal(extractPasswords(frameOf(broken)), undefined, `left to JSON.parse: ${broken}`);
    t.throws(() => decodeRequestFrame(frameOf(broken)), SyntaxError, 'which refuses it (PARSE_ERROR)');
  }
  t.throws(() => decodeRequestFrame(frameOf('{"params":{"password":"taken"}} trailing')), SyntaxError, 'taken, then refused: the bytes are freed');
  t.same(decode('{"params":{"other":1,"password":"x","n":[true,{"a":"}"}],"m":null}}').bytes[0]!['password'], hexOf('x'), 'nested values are skipped whole');
  t.same(decode('{"id":1,"params":{}}').bytes[0], { password: undefined, oldPassword: undefined, newPassword: undefined });
  t.same(decode('{"params":{"password":"plain string"}}').bytes[0]!['password'], hexOf('plain string'));
  t.same(passwordParam({ password: 'in-process' }, 'password'), 'in-process', 'an in-process call passes its string');
});

t.test('a real daemon: escaped and raw spellings of one password open the same user; placeholders never do', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const raw = await RawConnection.open(daemon.socketPath);
  t.teardown(() => raw.close());
  const password = 'pä\u00dfwört 𝄞';
  const escaped = JSON.stringify(password).replace(/[^\x20-\x7e]/gu, (c) => c.split('').map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''));
  t.notOk(escaped.includes('ä'), 'the escaped spelling has no raw UTF-8');
  // Created with every non-ASCII character escaped…
  await raw.write(`{"jsonrpc":"2.0","id":1,"method":"users.create","params":{"username":"alice","password":${escaped}}}\n`);
  t.same((await raw.next()).result, { username: 'alice', hasPassword: true });
  // …unlocked with the raw UTF-8 through the client.
  const client = await daemon.client();
  t.ok((await client.call('users.unlock', { username: 'alice', password })).session, 'the same password');
  const stars = '*'.repeat(password.length);
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: stars }), 'BAD_PASSWORD');
  await client.call('users.changePassword', { username: 'alice', oldPassword: password, newPassword: 'new one' });
  t.ok((await client.call('users.unlock', { username: 'alice', password: 'new one' })).session, 'changePassword took both as bytes');
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: '' }), 'INVALID_PARAMS');
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'x'.repeat(1025) }), 'INVALID_PARAMS');
  await client.call('users.delete', { username: 'alice', password: 'new one' });
  t.same((await client.call('users.list', {})).users, [], 'users.delete took it as bytes');
});
