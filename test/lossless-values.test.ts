import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { isLosslessObject, LosslessNumber, parseLossless, stringifyLossless, type LosslessObject, type LosslessValue } from '@coffer/protocol';
import { coffer } from './helpers/cli.js';
import { DaemonProcess, repoRoot, tempDir } from './helpers/daemon.js';
import { findPython } from './helpers/python.js';
import { RawConnection } from './helpers/raw-socket.js';

/**
 * Lossless values end to end (DESIGN-NOTES "Lossless values"): what a caller stores is exactly what
 * every caller and Python's json read back — big ints, `1.0`, `-0.0`, `1e-05`, integer-like key
 * order, `__proto__`, non-ASCII and escapes — through set/get, shallow and RFC 7396 updates, docs and
 * annotations, in both layouts, on disk, after a restart, and through the Python client, the TS
 * client (plain and exact) and the CLI. Expected values are computed by Python's json module.
 */
t.setTimeout(240_000);

const VALUE =
  '{"big":1152921504606846976,"huge":1267650600228229401496703205376,"neg":-1267650600228229401496703205376,' +
  '"one":1.0,"negzero":-0.0,"small":1e-05,"e16":1e+16,"tenth":0.1,"10":"ten","2":"two","a":"a",' +
  '"__proto__":{"polluted":true},"text":"caf\u00e9 \\u20bf \\ud83d\\ude80 \\"q\\" \\\\ \\n\\t","list":[1.0,{"10":1,"2":2.50},[2E3,-0]]}';
const SHALLOW = '{"one":2.0,"new":10000000000000000000000,"10":null,"list":{"9":9.0,"1":1}}';
const RFC = '{"list":[1.5],"2":null,"n":{"7":7.0,"1":1},"__proto__":{"more":1e300}}';

const python = findPython();
const PY_EXPECT = `
import json, sys
def canon(v): return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
def merge(t, p):
    if not isinstance(p, dict): return p
    t = dict(t) if isinstance(t, dict) else {}
    for k, v in p.items():
        if v is None: t.pop(k, None)
        else: t[k] = merge(t.get(k), v)
    return t
value, shallow, rfc = (json.loads(a) for a in sys.argv[1:4])
updated = dict(value); updated.update(shallow)
print(json.dumps([canon(value), canon(updated), canon(merge(value, rfc))]))
`;

function py(script: string, args: string[] = []): string {
  const run = spawnSync(python!, ['-c', script, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return run.stdout.trim();
}

/** What Python's json makes of the value, the shallow update and the RFC 7396 merge (compact, UTF-8). */
const [EXPECT_SET, EXPECT_SHALLOW, EXPECT_RFC] = python ? (JSON.parse(py(PY_EXPECT, [VALUE, SHALLOW, RFC])) as string[]) : [];

/** One call over a raw socket with params written as text, answered with the result parsed losslessly. */
class Wire {
  private id = 1;
  constructor(readonly conn: RawConnection) {}

  async call(method: string, params: string): Promise<LosslessObject> {
    const id = this.id++;
    await this.conn.write(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${params}}\n`);
    const answer = parseLossless(await this.conn.nextLine()) as LosslessObject;
    const result = answer.get('result');
    if (!isLosslessObject(result)) throw new Error(`${method} failed: ${stringifyLossless(answer)}`);
    return result;
  }

  /** The call's `data` as compact JSON text, to compare with Python's. */
  async data(method: string, params: string): Promise<string> {
    return stringifyLossless((await this.call(method, params)).get('data'));
  }
}

async function checkLayout(t: Test, layout: 'coffer' | 'specter'): Promise<void> {
  const dir = tempDir(t);
  // A new folder no Specter uses: cofferd manages its users.json (the default follows Specter's).
  const daemon = new DaemonProcess(dir, { args: ['--layout', layout, ...(layout === 'specter' ? ['--specter-users', 'manage'] : [])] });
  t.teardown(() => daemon.dispose());
  await daemon.start();
  const admin = await daemon.client();
  await admin.call('users.create', { username: 'alice', password: 'pw' });
  const session = (await admin.call('users.unlock', { username: 'alice', password: 'pw' })).session;
  let wire = new Wire(await RawConnection.open(daemon.socketPath));
  const plainOwner = '"username":"alice"';
  const sealedOwner = `"session":"${session}"`;
  const wallet = 'hot_1';
  const addr = `"username":"alice","wallet":"${wallet}","service":"swan","kind":"addr","id":"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"`;

  for (const [kind, owner] of [['unencrypted', plainOwner], ['encrypted', sealedOwner]] as const) {
    await wire.call(`services.${kind}.set`, `{${owner},"service":"exact","data":${VALUE}}`);
    t.equal(await wire.data(`services.${kind}.get`, `{${owner},"service":"exact"}`), EXPECT_SET, `${layout} ${kind}: set, get`);
    await wire.call(`services.${kind}.set`, `{${owner},"service":"shallow","data":${VALUE}}`);
    t.equal(await wire.data(`services.${kind}.update`, `{${owner},"service":"shallow","patch":${SHALLOW},"shallow":true}`), EXPECT_SHALLOW, `${layout} ${kind}: shallow update answers dict.update`);
    t.equal(await wire.data(`services.${kind}.get`, `{${owner},"service":"shallow"}`), EXPECT_SHALLOW, `${layout} ${kind}: and stores it`);
    await wire.call(`services.${kind}.set`, `{${owner},"service":"merged","data":${VALUE}}`);
    t.equal(await wire.data(`services.${kind}.update`, `{${owner},"service":"merged","patch":${RFC}}`), EXPECT_RFC, `${layout} ${kind}: RFC 7396 update`);
  }
  if (layout === 'coffer') await checkFrames(t, wire, plainOwner);
  // The specter layout names a document by its file (GenericDataManager's) and seals strings only.
  const doc = (name: string) => (layout === 'specter' ? `${name}.json` : name);
  const sealedFields = layout === 'specter' ? '["a","text"]' : '["big","list"]';
  await wire.call('docs.set', `{"name":"${doc('exact-doc')}","data":${VALUE}}`);
  t.equal(await wire.data('docs.get', `{"name":"${doc('exact-doc')}"}`), EXPECT_SET, `${layout}: docs`);
  t.equal(await wire.data('docs.update', `{"name":"${doc('exact-doc')}","patch":${RFC}}`), EXPECT_RFC, `${layout}: docs RFC 7396 update`);
  await wire.call('docs.set', `{"name":"${doc('sealed-doc')}","data":${VALUE},"encryptedFields":${sealedFields},"session":"${session}"}`);
  t.equal(await wire.data('docs.get', `{"name":"${doc('sealed-doc')}","session":"${session}"}`), EXPECT_SET, `${layout}: docs with sealed fields`);
  await wire.call('annotations.set', `{${addr},"data":${VALUE}}`);
  t.equal(await wire.data('annotations.get', `{${addr}}`), EXPECT_SET, `${layout}: annotations`);
  t.equal(await wire.data('annotations.update', `{${addr},"patch":${RFC}}`), EXPECT_RFC, `${layout}: annotations RFC 7396 update`);
  const all = await wire.call('annotations.get', `{"username":"alice","wallet":"${wallet}","service":"swan"}`);
  t.equal(stringifyLossless([...(all.get('addrs') as LosslessObject).values()][0]), EXPECT_RFC, `${layout}: all annotations of the file`);

  // On disk, as Python reads the files.
  const dataDir = daemon.dataDir;
  const servicesPath = layout === 'coffer' ? path.join(dataDir, 'services', 'alice_unencrypted_services.json') : path.join(dataDir, 'alice_unencrypted_services.json');
  const docPath = layout === 'coffer' ? path.join(dataDir, 'docs', 'exact-doc.json') : path.join(dataDir, 'exact-doc.json');
  const onDisk = JSON.parse(
    py(
      `import json, sys
canon = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))
raw = open(sys.argv[1], encoding="utf-8").read(); f = json.loads(raw); doc = json.load(open(sys.argv[2], encoding="utf-8"))
exact = f["services"]["exact"] if "services" in f else json.loads(f["exact"])
fields = {k: (v["plain"] if isinstance(v, dict) and "plain" in v else v) for k, v in (doc["fields"] if "fields" in doc else doc).items()}
print(json.dumps([canon(exact), canon(fields), raw == json.dumps(f, indent=4)]))`,
      [servicesPath, docPath],
    ),
  ) as [string, string, boolean];
  t.equal(onDisk[0], EXPECT_SET, `${layout}: the services file holds the exact value`);
  t.equal(onDisk[1], EXPECT_RFC, `${layout}: the document file holds the exact fields`);
  if (layout === 'specter') t.ok(onDisk[2], "specter: the file is Python's json.dump(indent=4), byte for byte");

  // A restart reads everything back from disk, exactly.
  if (layout === 'specter') {
    // A value Specter could hold with a newline between tokens: answered exact, though not spliced.
    await daemon.stop();
    const file = JSON.parse(readFileSync(servicesPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(servicesPath, JSON.stringify({ ...file, nl: '{"a":\n 1.0, "10": 2}' }, null, 4));
    await daemon.start();
    wire = new Wire(await RawConnection.open(daemon.socketPath));
    t.equal(await wire.data('services.unencrypted.get', `{${plainOwner},"service":"nl"}`), '{"a":1.0,"10":2}', 'specter: a stored text with a raw newline');
  } else {
    await daemon.restart();
    wire = new Wire(await RawConnection.open(daemon.socketPath));
  }
  const again = (await (await daemon.client()).call('users.unlock', { username: 'alice', password: 'pw' })).session;
  t.equal(await wire.data('services.unencrypted.get', `{${plainOwner},"service":"exact"}`), EXPECT_SET, `${layout}: after a restart`);
  t.equal(await wire.data('services.encrypted.get', `{"session":"${again}","service":"shallow"}`), EXPECT_SHALLOW, `${layout}: encrypted, after a restart`);
  t.equal(await wire.data('docs.get', `{"name":"${doc('sealed-doc')}","session":"${again}"}`), EXPECT_SET, `${layout}: sealed doc fields, after a restart`);
  t.equal(await wire.data('annotations.get', `{${addr}}`), EXPECT_RFC, `${layout}: annotations, after a restart`);

  await checkClients(t, daemon, layout, again);
}

/** Frames the lossless reading must not change the meaning of: batches, and nesting past any valid call. */
async function checkFrames(t: Test, wire: Wire, owner: string): Promise<void> {
  await wire.conn.write(`{"jsonrpc":"2.0","id":"deep","method":"daemon.status","params":{"x":1.5,"y":${'['.repeat(100)}${']'.repeat(100)}}}\n`);
  const deep = JSON.parse(await wire.conn.nextLine()) as { id: string; error: { code: number; message: string } };
  t.same([deep.id, deep.error.code], ['deep', -32602], 'too deep for the lossless parse: refused by depth, as before');
  t.match(deep.error.message, /deeper than 64/);
  const call = (id: string, method: string, params: string) => `{"jsonrpc":"2.0","id":"${id}","method":"${method}","params":${params}}`;
  await wire.conn.write(
    `[${call('b1', 'services.unencrypted.set', `{${owner},"service":"batch","data":{"x":1.0,"1":2}}`)}, 7, ${call('b2', 'services.unencrypted.get', `{${owner},"service":"exact"}`)}]\n`,
  );
  const replies = parseLossless(await wire.conn.nextLine()) as LosslessObject[];
  const b2 = replies.find((reply) => reply.get('id') === 'b2')!.get('result') as LosslessObject;
  t.equal(stringifyLossless(b2.get('data')), EXPECT_SET, 'a batch: each call keeps its exact data');
  t.equal(replies.length, 3, 'the bad member gets its error');
  t.equal(await wire.data('services.unencrypted.get', `{${owner},"service":"batch"}`), '{"x":1.0,"1":2}');
}

/** The Python client (json.loads exactly), the TS client plain and exact, and the CLI. */
async function checkClients(t: Test, daemon: DaemonProcess, layout: string, session: string): Promise<void> {
  const fromPython = py(
    `import json, sys
sys.path.insert(0, sys.argv[1])
from coffer_client import CofferClient
with CofferClient(sys.argv[2]) as c:
    c.call("services.unencrypted.set", {"username": "alice", "service": "from-python", "data": json.loads(sys.argv[3])})
    got = c.call("services.unencrypted.get", {"username": "alice", "service": "exact"})["data"]
    print(json.dumps(got, ensure_ascii=False, separators=(",", ":")))`,
    [path.join(repoRoot, 'client/python'), daemon.socketPath, VALUE],
  );
  t.equal(fromPython, EXPECT_SET, `${layout}: the Python client reads exactly what json.loads reads`);

  const client = await daemon.client();
  const exact = await client.callExact('services.unencrypted.get', { username: 'alice', service: 'from-python' });
  t.equal(stringifyLossless(exact.data), EXPECT_SET, `${layout}: what Python stored, the exact TS call reads`);
  const plain = (await client.call('services.unencrypted.get', { username: 'alice', service: 'exact' })).data;
  t.equal(plain['big'], 1152921504606847000, 'the plain TS call: a big int rounds to the nearest double (documented)');
  t.equal(Object.is(plain['one'], 1) && Object.is(plain['negzero'], -0), true, 'the plain TS call: 1.0 is 1, -0.0 is -0 (documented)');
  t.same(Object.keys(plain).slice(0, 3), ['2', '10', 'big'], 'the plain TS call: integer-like keys first (documented)');

  const model = parseLossless('{"z":1.0,"10":[2e0],"2":36893488147419103232}') as LosslessObject;
  model.set('__proto__', parseLossless('-0.0'));
  model.set('js', LosslessNumber.fromJs(2 ** 60));
  await client.callExact('services.encrypted.set', { session, service: 'from-ts', data: model });
  const back: LosslessValue = (await client.callExact('services.encrypted.get', { session, service: 'from-ts' })).data;
  t.equal(stringifyLossless(back), '{"z":1.0,"10":[2.0],"2":36893488147419103232,"__proto__":-0.0,"js":1.152921504606847e+18}', `${layout}: the exact TS call writes exactly (a JS number by the spec rule)`);

  const env = { COFFER_SOCKET: daemon.socketPath, COFFER_SESSION: session };
  const shown = await coffer(['services', 'get', 'exact', '--user', 'alice', '--json'], { env });
  t.equal(stringifyLossless((parseLossless(shown.stdout) as LosslessObject).get('data')), EXPECT_SET, `${layout}: the CLI prints values exactly as stored`);
  const set = await coffer(['services', 'set', 'cli', '{"f":1.0,"10":1,"2":2}', '--encrypted'], { env });
  t.equal(set.code, 0);
  t.match((await coffer(['services', 'get', 'cli', '--encrypted'], { env })).stdout, /^KEY +VALUE\nf +1\.0\n10 +1\n2 +2\n/, `${layout}: the CLI table keeps 1.0 and key order`);
}

if (!python) {
  t.fail('no python for the lossless tests (they compare with Python json)');
} else {
  t.test('coffer layout', (t) => checkLayout(t, 'coffer'));
  t.test('specter layout', (t) => checkLayout(t, 'specter'));
}
