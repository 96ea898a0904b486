import t from 'tap';
import {
  isAddress,
  isDocName,
  isSafeExistingName,
  isServiceId,
  isSpecterDocName,
  isSpecterWalletAlias,
  isTxid,
  paramsProblem,
  discoverDocument,
  SPECTER_DOC_NAME_PATTERN,
  specterDocNameProblem,
  isUsername,
  isWalletAlias,
} from '@coffer/protocol';

const hostile = ['../x', '..', '.', 'a/b', 'a\\b', 'a\0b', '__proto__', 'constructor', 'prototype', '', 'x'.repeat(65)];

t.test('usernames (strict)', async (t) => {
  for (const ok of ['alice', 'Bob', 'a', 'user.name@host', 'a-b_c', '0', 'x'.repeat(64)]) t.ok(isUsername(ok), ok);
  for (const bad of [...hostile, 'a..b', '-x', '.x', 'sp ace', 'ünï', 'x\n']) t.notOk(isUsername(bad), JSON.stringify(bad));
  t.notOk(isUsername(5));
});

t.test('existing Specter usernames (lenient but safe)', async (t) => {
  for (const ok of ['Bob Smith', 'ünïcode', 'admin', '🚀 rocket']) t.ok(isSafeExistingName(ok), ok);
  for (const bad of [...hostile, 'a..b', 'tab\there', 'del\u007f', 'c1\u0085']) t.notOk(isSafeExistingName(bad), JSON.stringify(bad));
});

t.test('service ids and document names', async (t) => {
  for (const ok of ['swan', 'exfund', 'my-service', 'a1-b2', 'x'.repeat(64)]) t.ok(isServiceId(ok) && isDocName(ok), ok);
  for (const bad of [...hostile, 'encrypted_storage_version', 'Swan', 'a_b', '-a', 'a-', 'a--b', 'x'.repeat(65)]) {
    t.notOk(isServiceId(bad), JSON.stringify(bad));
  }
});

t.test('wallet aliases', async (t) => {
  for (const ok of ['hot_wallet_2', 'cold', 'a-b']) t.ok(isWalletAlias(ok), ok);
  for (const bad of [...hostile, 'Hot', '_x', 'a b']) t.notOk(isWalletAlias(bad), JSON.stringify(bad));
  for (const ok of ['hot_wallet_2', 'ünï_wallet', '_x']) t.ok(isSpecterWalletAlias(ok), ok);
  for (const bad of [...hostile, 'Hot', 'a-b', 'a b']) t.notOk(isSpecterWalletAlias(bad), JSON.stringify(bad));
});

t.test('addresses and txids', async (t) => {
  t.ok(isAddress('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'));
  t.ok(isAddress('1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2'));
  t.notOk(isAddress('short'));
  t.notOk(isAddress('bc1q../../etc/passwd000000'));
  t.notOk(isAddress('x'.repeat(91)));
  t.ok(isTxid('a'.repeat(64)));
  t.notOk(isTxid('g'.repeat(64)));
  t.notOk(isTxid('a'.repeat(63)));
});

t.test('specter-layout document names: a .json path under the data folder, not one served by other methods', async (t) => {
  for (const ok of ['otp.json', 'config.json', 'some_data.json', 'plugins/x.json', 'wallets/regtest/hot.json', 'a b/\u00fcn\u00ef.json', 'x..y.json']) {
    t.ok(isSpecterDocName(ok), ok);
    t.equal(specterDocNameProblem(ok), undefined);
  }
  const refused: Record<string, RegExp> = {
    'users.json': /users\.\*/,
    'bob_services.json': /services\.\*/,
    'Bob Smith_unencrypted_services.json': /services\.\*/,
    'wallets/hot_swan.json': /annotations/,
    'wallets_bob/hot_swan.json': /annotations/,
    [`${'a'.repeat(251)}.json`]: /at most 255/,
  };
  for (const bad of ['../x.json', '/x.json', '.x.json', 'a/.b.json', 'a/../b.json', 'x.txt', 'x.json/', '.json', 'a//b.json', 'a\\b.json', 'a\u0000.json', 'a\u0085.json', 'x.JSON']) {
    refused[bad] = /relative to the data folder/;
  }
  for (const [bad, why] of Object.entries(refused)) {
    t.notOk(isSpecterDocName(bad), JSON.stringify(bad));
    t.match(specterDocNameProblem(bad), why, JSON.stringify(bad));
  }
  t.notOk(isSpecterDocName(5));
  t.ok(isSpecterDocName(`${'a'.repeat(250)}.json`), '255 characters');

  // The catalogue carries the rule as a JSON Schema pattern; a refused name is explained in words.
  const docsGet = (discoverDocument('0').methods as Array<{ name: string; params: Array<{ name: string; schema: { anyOf?: Array<{ pattern?: string }> } }> }>).find((m) => m.name === 'docs.get');
  const patterns = docsGet?.params.find((p) => p.name === 'name')?.schema.anyOf?.map((s) => s.pattern);
  t.ok(patterns?.includes(SPECTER_DOC_NAME_PATTERN), 'the specter pattern is in rpc.discover');
  t.equal(paramsProblem('docs.get', { name: 'otp.json' }), null);
  t.equal(paramsProblem('docs.get', { name: 'swan' }), null);
  t.match(paramsProblem('docs.get', { name: '../x.json' }), /params\.name: .*specter layout a path relative to the data folder/);
});
