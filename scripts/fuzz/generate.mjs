// Frame generators for the fuzz suite (scripts/fuzz.mjs). Deterministic: every frame follows from
// the seed. Every request that could write is made invalid on purpose (a wrong type, an unknown
// member, a name that must be refused), so the stored bytes must come out unchanged: a change
// means the daemon accepted something it should have refused.

/** mulberry32: small, fast, good enough to pick test cases from a seed. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (list) => list[int(list.length)], chance: (p) => next() < p };
}

const TRAVERSAL = ['..', '../../etc/passwd', 'a/../../b', '..\\..\\x', '/abs', '%2e%2e%2f', 'a\u0000b', '.', 'x/', 'CON', '\u202e', 'é'.repeat(70)];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];
const HUGE_NUMBERS = ['1e999', '-1e999', '123456789012345678901234567890', '-0', '1e-400', '0.0000000000000000000001', '9007199254740993'];
const READS = new Set(['daemon.status', 'rpc.discover', 'users.list', 'docs.list', 'sessions.check', 'services.encrypted.get', 'services.encrypted.list', 'services.unencrypted.get', 'services.unencrypted.list', 'docs.get', 'annotations.get', 'annotations.list']);

/** Values of every JSON type but `type`, for the wrong-type cases. */
function wrongValue(r, type) {
  const all = {
    string: () => r.pick(['', 'x', 'w0000000000000000', ...TRAVERSAL, 'y'.repeat(r.int(5000))]),
    integer: () => r.pick([0, -1, 2 ** 53, 1.5, 1e308]),
    boolean: () => r.chance(0.5),
    object: () => ({ [r.pick(PROTO_KEYS)]: { polluted: true } }),
    array: () => [r.int(10), null, 'a'],
    null: () => null,
  };
  const kinds = Object.keys(all).filter((k) => k !== type && !(type === 'number' && k === 'integer'));
  return all[r.pick(kinds)]();
}

/** A plausible value of the schema's type (valid or not: the other members make the call invalid). */
function plausible(r, schema, names) {
  switch (schema?.type) {
    case 'string':
      return r.chance(0.5) ? r.pick(names) : r.pick(TRAVERSAL);
    case 'integer':
    case 'number':
      return r.int(100_000);
    case 'boolean':
      return r.chance(0.5);
    case 'array':
      return [{ scope: 'users' }];
    case 'object':
      return r.chance(0.3) ? { __proto__: { x: 1 }, constructor: { prototype: { p: 1 } } } : { k: r.int(10) };
    default:
      return r.pick(['x', 1, null, {}]);
  }
}

/**
 * Params for `method` that must be refused: one param of a wrong type, or an unknown member
 * (prototype keys included), or a required member missing, or (reads only) traversal names.
 */
function badParams(r, method, names) {
  const params = {};
  for (const p of method.params) if (p.required || r.chance(0.5)) params[p.name] = plausible(r, p.schema, names);
  const mutate = method.params.length === 0 ? 1 : r.int(READS.has(method.name) ? 4 : 3);
  // Only params with one declared type can surely be given a wrong one (ifRevision takes several).
  const typed = method.params.filter((p) => typeof p.schema?.type === 'string');
  if (mutate === 0 && typed.length > 0) {
    const victim = r.pick(typed);
    params[victim.name] = wrongValue(r, victim.schema.type);
  } else if (mutate <= 1) {
    // A prototype key as a member of its own (JSON.parse makes it an own property).
    return JSON.parse(JSON.stringify(params).replace(/^\{/, `{"${r.pick([...PROTO_KEYS, 'extra'])}":{"polluted":true}${Object.keys(params).length ? ',' : ''}`));
  } else if (mutate === 2) {
    const required = method.params.filter((p) => p.required);
    if (required.length === 0) params.unknownMember = 1;
    else delete params[r.pick(required).name];
  } else {
    for (const p of method.params) if (p.schema?.type === 'string') params[p.name] = r.pick(TRAVERSAL);
  }
  return params;
}

function request(r, methods, names, id) {
  const method = r.pick(methods);
  return { jsonrpc: '2.0', id, method: method.name, params: badParams(r, method, names) };
}

function deep(r) {
  const depth = r.pick([65, 66, 1000, 50_000, 150_000]);
  const [open, close] = r.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
  return `{"jsonrpc":"2.0","id":1,"method":"daemon.status","params":{"x":${open.repeat(depth)}1${close.repeat(depth)}}}`;
}

/**
 * One fuzz frame (bytes, newline included); `ctx` holds the catalogue (`methods` from
 * rpc.discover), names that exist, and the daemon's frame limit. Frame `n` is a costly kind
 * (RARE_KINDS, in turn) once every RARE_EVERY frames, otherwise a cheap kind picked by weight.
 */
export function nextFrame(r, ctx, n) {
  const every = ctx.rareEvery ?? RARE_EVERY;
  const kind = n % every === every - 1 ? RARE_KINDS[Math.floor(n / every) % RARE_KINDS.length] : r.pick(KINDS);
  return frameOf(kind, r, ctx, n);
}

export function frameOf(kind, r, { methods, names, maxFrameBytes }, n) {
  const text = (s) => Buffer.from(s + '\n', 'utf8');
  const req = () => request(r, methods, names, n);
  switch (kind) {
    case 'random-bytes': {
      const bytes = Buffer.alloc(1 + r.int(200));
      for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
      return Buffer.concat([bytes, Buffer.from('\n')]);
    }
    case 'invalid-utf8': {
      const bad = Buffer.from([r.pick([0xff, 0xc0, 0xed, 0xf8]), r.pick([0x80, 0xa0, 0xbf, 0x00])]);
      const [head, tail] = JSON.stringify(req()).split(/(?<="method":")/);
      return Buffer.concat([Buffer.from(head ?? ''), bad, Buffer.from((tail ?? '') + '\n')]);
    }
    case 'truncated': {
      const s = JSON.stringify(req());
      return text(s.slice(0, r.int(s.length)));
    }
    case 'concatenated':
      return text(JSON.stringify(req()) + JSON.stringify(request(r, methods, names, n + 0.5)));
    case 'deep':
      return text(deep(r, r.pick([65, 66, 1000])));
    case 'deep-big':
      return text(deep(r, r.pick([50_000, 150_000])));
    case 'huge-number':
      return text(`{"jsonrpc":"2.0","id":${r.pick(HUGE_NUMBERS)},"method":"users.unlock","params":{"username":"u0","password":"x","ttlS":${r.pick(HUGE_NUMBERS)}}}`);
    case 'long-string':
      return text(`{"jsonrpc":"2.0","id":${n},"method":"${r.pick(['daemon.status', 'services.unencrypted.get', 'x'.repeat(r.int(2000))])}","params":{"s":"${'s'.repeat(r.int(4000))}"}}`);
    case 'huge-string': {
      const size = r.chance(0.3) ? maxFrameBytes + 10 : r.int(maxFrameBytes - 100);
      return text(`{"jsonrpc":"2.0","id":${n},"method":"services.unencrypted.get","params":{"username":"u1","service":"${'s'.repeat(size)}"}}`);
    }
    case 'wrong-type':
      return text(JSON.stringify(req()));
    case 'envelope':
      return text(JSON.stringify(r.pick([{ id: n }, { jsonrpc: '1.0', id: n, method: 'daemon.status' }, { jsonrpc: '2.0', id: { o: 1 }, method: 'x' }, { jsonrpc: '2.0', id: n, method: 5 }, 42, 'str', null, [], [1, 2]])));
    case 'batch':
      return batch(r, methods, names, n, r.pick([1, 2, 5, 20]));
    case 'batch-large':
      return batch(r, methods, names, n, r.pick([999, 1000, 1001, 7000]));
    case 'discover-batch':
      return text(JSON.stringify(Array.from({ length: r.pick([50, 400, 1000]) }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'rpc.discover' }))));
    case 'blank':
      return Buffer.from(r.pick(['\n', '   \n', '\r\n', '\t\n']));
    default:
      // A valid read, so the daemon is seen answering right in between.
      return text(JSON.stringify({ jsonrpc: '2.0', id: n, method: r.pick(['daemon.status', 'users.list', 'docs.list']), params: {} }));
  }
}

function batch(r, methods, names, n, count) {
  const items = Array.from({ length: count }, (_, i) => (r.chance(0.1) ? r.pick([null, 1, 'x', []]) : request(r, methods, names, `${n}.${i}`)));
  return Buffer.from(JSON.stringify(items) + '\n');
}

export const KINDS = [
  ...Array(12).fill('random-bytes'),
  ...Array(8).fill('invalid-utf8'),
  ...Array(12).fill('truncated'),
  ...Array(6).fill('concatenated'),
  'deep',
  ...Array(6).fill('huge-number'),
  ...Array(3).fill('long-string'),
  ...Array(36).fill('wrong-type'),
  ...Array(6).fill('envelope'),
  ...Array(3).fill('batch'),
  ...Array(4).fill('blank'),
  ...Array(6).fill('valid-read'),
];
/** Costly kinds: big batches (TOO_LARGE past --max-batch), rpc.discover batches (79 KB answers each), frames near or past the frame limit, deep nesting. */
const RARE_KINDS = ['batch-large', 'discover-batch', 'huge-string', 'deep-big'];
export const RARE_EVERY = 250;
