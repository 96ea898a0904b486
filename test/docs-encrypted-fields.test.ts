import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { UnlockedUser } from '../daemon/src/port/users.js';
import { DocOwners } from '../daemon/src/store/doc-owners.js';
import { Docs } from '../daemon/src/store/docs.js';
import type { Store } from '../daemon/src/store/store.js';
import { rejectsWith } from './helpers/assert.js';
import { DOCS_DATA_ARGS, plainApi } from './helpers/plain.js';
import { storeFixture, unlockedUser } from './helpers/store.js';

/**
 * Owner-sealed document fields, in process with unlocked users as the keyring hands them over.
 * docs-sessions.test.ts walks the same rules end to end with real users and sessions.
 */

const MARKER = 'MARKER-7f3a9c-sealed';
const PLAIN = 'MARKER-plain-visible';

/** Makes the store re-read a file edited behind its back (what the watcher does). */
async function reload(store: Store, file: string): Promise<void> {
  await store.cached(file)?.checkExternal();
}

function setup(t: Test) {
  const fixture = storeFixture(t);
  const model = new Docs(fixture.store, fixture.layout);
  const docs = plainApi(model, DOCS_DATA_ARGS);
  const owners = new DocOwners(fixture.store, fixture.layout, model);
  const fileOf = (name: string) => path.join(fixture.dataDir, 'docs', `${name}.json`);
  const onDisk = (name: string) => JSON.parse(readFileSync(fileOf(name), 'utf8'));
  return { ...fixture, docs, owners, fileOf, onDisk, alice: unlockedUser('alice'), bob: unlockedUser('bob') };
}

t.test('declared fields are sealed under the declaring user; readable only with that user', async (t) => {
  const { docs, fileOf, onDisk, alice, bob } = setup(t);
  const { revision } = await docs.set('wallet-cfg', { label: PLAIN, pin: MARKER, xpub: { k: 1 } }, ['pin', 'xpub'], alice, undefined);
  const raw = readFileSync(fileOf('wallet-cfg'), 'utf8');
  t.notOk(raw.includes(MARKER), 'the sealed value is not on disk in clear');
  t.ok(raw.includes(PLAIN), 'the plain one is');
  t.equal(onDisk('wallet-cfg').owner, 'alice');
  t.match(onDisk('wallet-cfg').fields.pin.sealed, /^cf1:/);

  t.same(await docs.get('wallet-cfg', alice), {
    data: { label: PLAIN, pin: MARKER, xpub: { k: 1 } },
    encryptedFields: ['pin', 'xpub'],
    locked: [],
    revision,
  });
  const locked = { data: { label: PLAIN }, encryptedFields: ['pin', 'xpub'], locked: ['pin', 'xpub'], revision };
  t.same(await docs.get('wallet-cfg', undefined), locked, 'no session: sealed fields named in locked');
  t.same(await docs.get('wallet-cfg', bob), locked, "another user's session does not open them");
  t.same(await docs.list(), [{ name: 'wallet-cfg', owner: 'alice', encryptedFields: ['pin', 'xpub'] }]);
});

t.test('who may write what', async (t) => {
  const { docs, fileOf, alice, bob } = setup(t);
  await docs.set('d', { label: 'a', pin: '1234' }, ['pin'], alice, undefined);
  const unchanged = () => readFileSync(fileOf('d'));
  const before = unchanged();

  // Anyone may change plain fields; the answer shows what the caller may see.
  const plain = await docs.update('d', { label: 'b' }, undefined, undefined);
  t.same(plain.data, { label: 'b' }, 'sessionless update of a plain field');
  t.same((await docs.update('d', { label: 'c' }, bob, undefined)).data, { label: 'c' }, "another user's session too");
  t.same((await docs.update('d', { label: 'd' }, alice, undefined)).data, { label: 'd', pin: '1234' }, 'the owner sees all');
  const now = readFileSync(fileOf('d'));
  t.not(now.toString(), before.toString());

  // Anything the owner's secret protects needs the owner's session.
  for (const [what, attempt] of [
    ['update of a sealed field, no session', docs.update('d', { pin: '0000' }, undefined, undefined)],
    ['update of a sealed field, bob', docs.update('d', { pin: '0000' }, bob, undefined)],
    ['removal of a sealed field, bob', docs.update('d', { pin: null }, bob, undefined)],
    ['set (replaces sealed values), no session', docs.set('d', { label: 'x' }, undefined, undefined, undefined)],
    ['set, bob', docs.set('d', { label: 'x', pin: '1' }, undefined, bob, undefined)],
    ['redeclaring, bob', docs.set('d', { label: 'x' }, [], bob, undefined)],
    ['delete, no session', docs.delete('d', undefined, undefined)],
    ['delete, bob', docs.delete('d', bob, undefined)],
  ] as const) {
    const error = await rejectsWith(t, attempt, 'LOCKED');
    t.notMatch(error.message, /1234|0000/, `${what}: refused, and the message shows no sealed value`);
    if (error.message.includes('belong to')) t.equal(error.data['owner'], 'alice');
  }
  t.same(readFileSync(fileOf('d')), now, 'none of it was written');

  const sealed = await docs.update('d', { pin: { new: MARKER } }, alice, undefined);
  t.same(sealed.data, { label: 'd', pin: { new: MARKER } });
  t.notOk(readFileSync(fileOf('d'), 'utf8').includes(MARKER));
  t.same((await docs.update('d', { pin: { more: 1 } }, alice, undefined)).data.pin, { new: MARKER, more: 1 }, 'merged inside the seal');
  t.same((await docs.update('d', { pin: null }, alice, undefined)).data, { label: 'd' }, 'the owner may remove it');
  t.same((await docs.get('d', undefined)).locked, [], 'declared but absent: nothing locked');
  t.same((await docs.get('d', undefined)).encryptedFields, ['pin']);
  t.same(await docs.delete('d', alice, undefined), { revision: null }, 'the owner may delete');
});

t.test('declaring: needs a session, whose user becomes the owner; omitted keeps it; [] gives it up', async (t) => {
  const { docs, onDisk, alice, bob } = setup(t);
  await docs.set('d', { a: 1, secret: 's' }, undefined, undefined, undefined);
  await rejectsWith(t, docs.set('d', { a: 1, secret: 's' }, ['secret'], undefined, undefined), 'LOCKED', /need a session/);
  await rejectsWith(t, docs.update('unowned', { x: 1 }, undefined, undefined).then(() => docs.set('unowned', {}, ['x'], undefined, undefined)), 'LOCKED');

  await docs.set('d', { a: 1, secret: 's' }, ['secret'], bob, undefined);
  t.equal(onDisk('d').owner, 'bob');
  t.ok(onDisk('d').fields.secret.sealed, 'the existing plain value is sealed now');
  await rejectsWith(t, docs.set('d', { a: 1, secret: 't' }, ['secret'], alice, undefined), 'LOCKED', /belong to bob/);

  await docs.set('d', { a: 2, secret: 't' }, undefined, bob, undefined);
  t.ok(onDisk('d').fields.secret.sealed, 'encryptedFields omitted: the declaration stays');
  t.same((await docs.get('d', bob)).data, { a: 2, secret: 't' });

  // A declared field with no value yet, a plain write that leaves it alone: no session needed.
  await docs.set('e', { a: 1 }, ['later'], alice, undefined);
  t.same(await docs.set('e', { a: 2 }, undefined, undefined, undefined).then((r) => typeof r.revision), 'string');
  t.equal(onDisk('e').owner, 'alice', 'the owner stays');
  await rejectsWith(t, docs.set('e', { a: 2, later: 1 }, undefined, undefined, undefined), 'LOCKED', /belong to alice/);

  await docs.set('d', { a: 3, secret: 'u' }, [], bob, undefined);
  t.same(onDisk('d'), {
    format: 'coffer.doc',
    version: 1,
    owner: null,
    encryptedFields: [],
    fields: { a: { plain: 3 }, secret: { plain: 'u' } },
  }, 'declaration given up: owner null, every field plain');
  t.same(await docs.set('f', {}, ['x'], alice, undefined).then(() => docs.list()), [
    { name: 'd', owner: null, encryptedFields: [] },
    { name: 'e', owner: 'alice', encryptedFields: ['later'] },
    { name: 'f', owner: 'alice', encryptedFields: ['x'] },
    { name: 'unowned', owner: null, encryptedFields: [] },
  ], 'a document with only a declaration exists');
});

t.test('rewriting an unchanged sealed value keeps its token: no write, same revision', async (t) => {
  const { docs, fs, onDisk, alice } = setup(t);
  const { revision } = await docs.set('d', { pin: '1', a: 1 }, ['pin'], alice, undefined);
  const token = onDisk('d').fields.pin.sealed;
  const renames = fs.counts.rename;
  t.equal((await docs.set('d', { pin: '1', a: 1 }, ['pin'], alice, undefined)).revision, revision);
  t.equal((await docs.update('d', { pin: '1' }, alice, undefined)).revision, revision);
  t.equal(fs.counts.rename, renames, 'no write');
  await docs.update('d', { a: 2 }, undefined, undefined);
  t.equal(onDisk('d').fields.pin.sealed, token, 'a plain change leaves the token alone');
});

t.test('a sealed field moved on disk (other document, other field) is CORRUPT and not overwritten by accident', async (t) => {
  const { docs, store, fileOf, onDisk, alice } = setup(t);
  await docs.set('a', { pin: MARKER }, ['pin', 'pin2'], alice, undefined);
  await docs.set('b', { pin: 'b-pin', note: 'n' }, ['pin', 'pin2'], alice, undefined);
  const stolen = onDisk('a').fields.pin.sealed;
  for (const [target, field] of [['b', 'pin'], ['a', 'pin2']] as const) {
    const file = onDisk(target);
    file.fields[field] = { sealed: stolen };
    writeFileSync(fileOf(target), JSON.stringify(file));
    await reload(store, fileOf(target));
    const bytes = readFileSync(fileOf(target));
    const error = await rejectsWith(t, docs.get(target, alice), 'CORRUPT', /ifRevision/);
    const revision = error.data['revision'] as string;
    t.type(revision, 'string', 'CORRUPT carries the revision');
    const unlocked = await docs.get(target, undefined);
    t.ok(unlocked.locked.includes(field), 'without the key it is only locked (it cannot be checked)');
    await rejectsWith(t, docs.set(target, { pin: 'new' }, undefined, alice, undefined), 'CORRUPT');
    await rejectsWith(t, docs.update(target, { [field]: 'new' }, alice, undefined), 'CORRUPT');
    const viaUpdate = await rejectsWith(t, docs.update(target, { note: 'x' }, alice, undefined), 'CORRUPT', /ifRevision/);
    t.equal(viaUpdate.data['revision'], revision, 'names the stored revision, the one a replacing write gives');
    t.same(readFileSync(fileOf(target)), bytes, 'left untouched');
    await docs.update(target, { [field]: 'replaced' }, alice, revision);
    t.equal((await docs.get(target, alice)).data[field], 'replaced', 'an explicit ifRevision replaces it');
  }
  const file = onDisk('b');
  file.fields.pin = { sealed: stolen };
  writeFileSync(fileOf('b'), JSON.stringify(file));
  await reload(store, fileOf('b'));
  const { revision } = await docs.get('b', undefined);
  t.type((await docs.set('b', { pin: 'fresh' }, undefined, alice, revision)).revision, 'string', 'set with ifRevision replaces too');
  t.same((await docs.get('b', alice)).data, { pin: 'fresh' });
});

t.test('a sealed field without an owner is CORRUPT; a sealed value that is not JSON too', async (t) => {
  const { docs, store, fileOf, onDisk, alice, layout } = setup(t);
  await docs.set('d', { pin: '1' }, ['pin'], alice, undefined);
  const ownerless = { ...onDisk('d'), owner: null };
  writeFileSync(fileOf('d'), JSON.stringify(ownerless));
  await reload(store, fileOf('d'));
  await rejectsWith(t, docs.get('d', undefined), 'CORRUPT', /no owner/);
  await rejectsWith(t, docs.set('d', {}, [], alice, undefined), 'CORRUPT');
  const notJson = onDisk('d');
  notJson.owner = 'alice';
  notJson.fields.pin = { sealed: layout.cipher.seal(alice, { username: 'alice', kind: 'docs', key: ['d', 'pin'] }, '{not json') };
  writeFileSync(fileOf('d'), JSON.stringify(notJson));
  await reload(store, fileOf('d'));
  await rejectsWith(t, docs.get('d', alice), 'CORRUPT', /not JSON/);
});

t.test('secret rotation: reads fall back to the previous secret; re-sealing owned documents is idempotent', async (t) => {
  const { docs, owners, store, fileOf, onDisk, layout } = setup(t);
  const oldSecret = randomBytes(32);
  const newSecret = randomBytes(32);
  const before = unlockedUser('alice', oldSecret);
  const midway: UnlockedUser = { ...unlockedUser('alice', newSecret), previous: before };
  const after = unlockedUser('alice', newSecret);
  await docs.set('a', { pin: '1', x: 'plain' }, ['pin', 'seed'], before, undefined);
  await docs.set('b', { seed: 's' }, ['seed'], before, undefined);
  await docs.set('bobs', { seed: 'b' }, ['seed'], unlockedUser('bob'), undefined);

  t.same((await docs.get('a', midway)).data, { pin: '1', x: 'plain' }, 'mid-rotation: opens under the previous secret');
  await docs.update('a', { seed: 'new' }, midway, undefined);
  await rejectsWith(t, docs.get('a', after), 'CORRUPT', undefined);

  // One field under a secret nobody has: counted, left as it is.
  const stray = onDisk('b');
  stray.fields.lost = { sealed: layout.cipher.seal(unlockedUser('alice'), { username: 'alice', kind: 'docs', key: ['b', 'lost'] }, '1') };
  writeFileSync(fileOf('b'), JSON.stringify(stray));
  await reload(store, fileOf('b'));
  const bobsBytes = readFileSync(fileOf('bobs'));

  t.same(await owners.reencryptOwned('alice', before, midway), { resealed: 2, unreadable: 1 });
  t.same(await owners.reencryptOwned('alice', before, midway), { resealed: 0, unreadable: 1 }, 'again: nothing left to do');
  t.same((await docs.get('a', after)).data, { pin: '1', x: 'plain', seed: 'new' }, 'everything opens under the new secret alone');
  t.equal(onDisk('b').fields.lost.sealed, stray.fields.lost.sealed, 'the unreadable field is untouched');
  t.same(readFileSync(fileOf('bobs')), bobsBytes, "another owner's documents are not touched");
});

t.test("a deleted user's sealed fields go with them; their documents keep the plain fields, unowned", async (t) => {
  const { docs, owners, onDisk, fileOf, alice, bob } = setup(t);
  await docs.set('shared', { title: 'kept', pin: MARKER }, ['pin'], alice, undefined);
  await docs.set('only-sealed', { pin: '1' }, ['pin'], alice, undefined);
  await docs.set('bobs', { pin: '2' }, ['pin'], bob, undefined);
  const bobsBytes = readFileSync(fileOf('bobs'));
  t.equal(await owners.releaseOwned('alice'), 2);
  t.equal(await owners.releaseOwned('alice'), 0, 'again: nothing to do');
  t.same(onDisk('shared'), { format: 'coffer.doc', version: 1, owner: null, encryptedFields: [], fields: { title: { plain: 'kept' } } });
  t.same(await docs.list(), [
    { name: 'bobs', owner: 'bob', encryptedFields: ['pin'] },
    { name: 'shared', owner: null, encryptedFields: [] },
  ], 'a document left with nothing is gone');
  t.same(readFileSync(fileOf('bobs')), bobsBytes, "another owner's documents are not touched");
  const newAlice = unlockedUser('alice');
  await docs.set('shared', { title: 'kept', pin: 'again' }, ['pin'], newAlice, undefined);
  t.same((await docs.get('shared', newAlice)).data, { title: 'kept', pin: 'again' }, 'a new user of the same name starts clean');
});

t.test('a declaration without an owner (edited by hand) is kept as it is by writes that need no key', async (t) => {
  const { docs, store, fileOf, onDisk, alice } = setup(t);
  await docs.set('d', { a: 1 }, ['later'], alice, undefined);
  writeFileSync(fileOf('d'), JSON.stringify({ ...onDisk('d'), owner: null }));
  await reload(store, fileOf('d'));
  await docs.set('d', { a: 2 }, undefined, undefined, undefined);
  t.same([onDisk('d').owner, onDisk('d').encryptedFields], [null, ['later']]);
  await rejectsWith(t, docs.set('d', { later: 1 }, undefined, undefined, undefined), 'LOCKED', /need a session/);
  await docs.update('d', { later: 'x' }, alice, undefined);
  t.equal(onDisk('d').owner, 'alice', 'the first session to seal a value owns it');
});
