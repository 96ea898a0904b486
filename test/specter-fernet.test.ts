import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  decodeBase64,
  decodeBase64Text,
  encodeBase64,
  encodeBase64Text,
  fernetDecrypt,
  fernetEncrypt,
  InvalidToken,
} from '../daemon/src/specter/index.js';
import { vectorMeta } from './helpers/specter.js';

interface FernetCase {
  name: string;
  key: string;
  token: string;
  python_fernet: 'ok' | 'InvalidToken';
  plaintext_hex?: string;
}

function keyOf(text: string): Buffer {
  const key = decodeBase64Text(text, 'either');
  if (!key || key.length !== 32) throw new Error(`bad key ${text}`);
  return key;
}

function verdict(key: Buffer, token: string): { result: 'ok' | 'InvalidToken'; plaintext?: Buffer } {
  try {
    return { result: 'ok', plaintext: fernetDecrypt(key, token) };
  } catch (error) {
    if (error instanceof InvalidToken) return { result: 'InvalidToken' };
    throw error;
  }
}

t.test('every fernet_cases verdict is Python\'s (the two lenient cases decided as Python does)', async (t) => {
  const { cases } = vectorMeta<{ cases: FernetCase[] }>('fernet_cases.json');
  t.ok(cases.length > 0);
  for (const c of cases) {
    const got = verdict(keyOf(c.key), c.token);
    t.equal(got.result, c.python_fernet, c.name);
    if (c.plaintext_hex !== undefined) t.equal(got.plaintext?.toString('hex'), c.plaintext_hex, `${c.name} plaintext`);
  }
});

t.test('with a fixed IV and timestamp, encrypt reproduces every valid case byte for byte', async (t) => {
  const { cases } = vectorMeta<{ cases: FernetCase[] }>('fernet_cases.json');
  for (const c of cases.filter((c) => c.python_fernet === 'ok' && /^[A-Za-z0-9_-]+=*$/.test(c.token))) {
    const raw = decodeBase64Text(c.token, 'urlsafe') as Buffer;
    const timestamp = Number(raw.readBigUInt64BE(1));
    const again = fernetEncrypt(keyOf(c.key), Buffer.from(c.plaintext_hex as string, 'hex'), { iv: raw.subarray(9, 25), timestamp });
    t.equal(again, c.token, c.name);
  }
});

t.test('round trips every plaintext length with url-safe, padded text', async (t) => {
  const key = randomBytes(32);
  for (let n = 0; n < 70; n++) {
    const plaintext = randomBytes(n);
    const token = fernetEncrypt(key, plaintext);
    t.match(token, /^gAAAAA[A-Za-z0-9_-]+={0,2}$/);
    t.equal(token.length % 4, 0, 'padded');
    t.same(fernetDecrypt(key, token), plaintext);
  }
  t.not(fernetEncrypt(key, Buffer.from('x')), fernetEncrypt(key, Buffer.from('x')), 'a fresh IV per token');
});

t.test('the timestamp is the current time by default and never checked on decrypt', async (t) => {
  const key = randomBytes(32);
  const before = Math.floor(Date.now() / 1000);
  const raw = decodeBase64Text(fernetEncrypt(key, Buffer.from('now')), 'urlsafe') as Buffer;
  const ts = Number(raw.readBigUInt64BE(1));
  t.ok(ts >= before && ts <= Math.floor(Date.now() / 1000) + 1);
  const future = fernetEncrypt(key, Buffer.from('later'), { timestamp: 2 ** 40 });
  t.equal(fernetDecrypt(key, future).toString(), 'later');
});

t.test('malformed token text is refused, where Node\'s own decoder would skip junk', async (t) => {
  const key = randomBytes(32);
  const token = fernetEncrypt(key, Buffer.from('hello, fernet'));
  const bad = [
    token.slice(0, 20) + ' ' + token.slice(20), // stray space (Python skips it)
    token.slice(0, 20) + '\n' + token.slice(20),
    token.replace(/=+$/, ''), // padding stripped
    token + '=', // too much padding
    token.slice(0, 10) + '=' + token.slice(11), // '=' in the middle
    token.slice(0, 20) + 'é' + token.slice(21),
    token.slice(0, 20) + '.' + token.slice(21),
    '',
  ];
  for (const text of bad) t.throws(() => fernetDecrypt(key, text), InvalidToken, JSON.stringify(text.slice(0, 30)));
  t.equal(fernetDecrypt(key, token.replace(/-/g, '+').replace(/_/g, '/')).toString(), 'hello, fernet', '+/ accepted, as Python does');
});

t.test('shape checks: version byte, minimum length, block multiple, HMAC, padding', async (t) => {
  const key = randomBytes(32);
  const raw = decodeBase64Text(fernetEncrypt(key, Buffer.from('sixteen bytes!!!')), 'urlsafe') as Buffer;
  const text = (b: Buffer): string => encodeBase64Text(b, 'urlsafe');
  const flipped = Buffer.from(raw);
  flipped[0] = 0x81;
  t.throws(() => fernetDecrypt(key, text(flipped)), InvalidToken, 'version byte');
  t.throws(() => fernetDecrypt(key, text(raw.subarray(0, 72))), InvalidToken, 'too short');
  t.throws(() => fernetDecrypt(key, text(Buffer.concat([raw.subarray(0, 40), raw.subarray(41)]))), InvalidToken, 'not a block multiple');
  const tampered = Buffer.from(raw);
  tampered[30] = (tampered[30] as number) ^ 1;
  t.throws(() => fernetDecrypt(key, text(tampered)), InvalidToken, 'HMAC');
  t.throws(() => fernetDecrypt(randomBytes(32), text(raw)), InvalidToken, 'other key');
});

t.test('programming errors are not InvalidToken', async (t) => {
  t.throws(() => fernetEncrypt(randomBytes(16), Buffer.alloc(1)), RangeError);
  t.throws(() => fernetDecrypt(randomBytes(31), 'gAAAAA=='), RangeError);
  t.throws(() => fernetEncrypt(randomBytes(32), Buffer.alloc(1), { iv: randomBytes(8) }), RangeError);
  t.throws(() => fernetEncrypt(randomBytes(32), Buffer.alloc(1), { timestamp: -1 }), RangeError);
  t.throws(() => fernetEncrypt(randomBytes(32), Buffer.alloc(1), { timestamp: 1.5 }), RangeError);
});

t.test('byte-level base64 agrees with Node and is strict', async (t) => {
  for (let n = 0; n < 40; n++) {
    const bytes = randomBytes(n);
    const standard = bytes.toString('base64');
    t.equal(encodeBase64(bytes, 'standard').toString('latin1'), standard);
    t.equal(encodeBase64Text(bytes, 'urlsafe'), standard.replace(/\+/g, '-').replace(/\//g, '_'));
    t.same(decodeBase64(Buffer.from(standard), 'standard'), bytes);
    t.same(decodeBase64Text(standard, 'either'), bytes);
  }
  t.equal(decodeBase64Text('ab-_', 'standard'), undefined, 'url-safe chars are not standard');
  t.equal(decodeBase64Text('ab+/', 'urlsafe'), undefined, 'standard chars are not url-safe');
  t.equal(decodeBase64Text('abc', 'either'), undefined, 'length not a multiple of 4');
  t.equal(decodeBase64Text('a===', 'either'), undefined, 'three pads');
  t.equal(decodeBase64Text('====', 'either'), undefined);
  t.equal(decodeBase64Text('ab=c', 'either'), undefined, 'pad in the middle');
  t.equal(decodeBase64Text('abç=', 'either'), undefined, 'non-ASCII');
  t.same(decodeBase64Text('', 'either'), Buffer.alloc(0));
});
