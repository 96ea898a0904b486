import t from 'tap';
import {
  isAddress,
  isDocName,
  isServiceId,
  isSpecterDocName,
  isTxid,
  paramsProblem,
  discoverDocument,
  SPECTER_DOC_NAME_PATTERN,
  specterDocNameProblem,
  isUsername,
  isWalletAlias,
  SERVICE_ID_PATTERN,
  USERNAME_PATTERN,
  WALLET_ALIAS_PATTERN,
} from '@coffer/protocol';

// What would escape the data dir, hide a file or reach a prototype: refused by every rule.
const hostile = ['../x', '..', '.', '.hidden', 'a/b', 'a\\b', 'a\0b', '__proto__', 'constructor', 'prototype', '', 'x'.repeat(65)];

t.test('usernames: what Specter accepts, in both layouts', async (t) => {
  const ok = ['alice', 'Bob', 'a', 'user.name@host', 'a-b_c', '0', 'x'.repeat(64), 'Bob Smith', 'ünïcode', '🚀 rocket', 'a..b', '-x', 'admin'];
  for (const name of ok) t.ok(isUsername(name), name);
  for (const bad of [...hostile, 'tab\there', 'x\n', 'del\u007f', 'c1\u0085']) t.notOk(isUsername(bad), JSON.stringify(bad));
  t.notOk(isUsername(5));
});

t.test('service ids: Python identifiers and dashed ids', async (t) => {
  const ok = ['swan', 'devhelp', 'test_service', 'reckless_swan', 'my_ext', 'Swan', '_private', 'my-service', 'a1-b2', 'x'.repeat(64)];
  for (const name of ok) t.ok(isServiceId(name) && isDocName(name), name);
  for (const bad of [...hostile, 'encrypted_storage_version', '-a', 'a b', 'a.b', 'ünï', 'x'.repeat(65)]) {
    t.notOk(isServiceId(bad), JSON.stringify(bad));
  }
});

t.test('wallet aliases: Specter\'s alias() and Coffer\'s', async (t) => {
  for (const ok of ['hot_wallet_2', 'cold', 'a-b', 'ünï_wallet', '_x', '钱包', 'x'.repeat(64)]) t.ok(isWalletAlias(ok), ok);
  for (const bad of [...hostile, 'Hot', 'Ünï', 'a b', '-a', 'a.b', '€uro']) t.notOk(isWalletAlias(bad), JSON.stringify(bad));
});

t.test('each rule is a plain JSON Schema pattern (no u flag) that agrees with its function', async (t) => {
  const cases = ['alice', 'test_service', 'Bob Smith', '..', '.x', '__proto__', 'a/b', 'hot_wallet_2', 'ünï', '-a', 'x'.repeat(64), 'x'.repeat(65)];
  for (const [pattern, check] of [
    [USERNAME_PATTERN, isUsername],
    [SERVICE_ID_PATTERN, isServiceId],
  ] as const) {
    const re = new RegExp(pattern);
    for (const name of cases) t.equal(re.test(name), check(name), `${pattern} on ${JSON.stringify(name)}`);
  }
  // The alias pattern admits non-ASCII characters the function then checks are lowercase letters.
  const alias = new RegExp(WALLET_ALIAS_PATTERN);
  for (const name of cases) if (isWalletAlias(name)) t.ok(alias.test(name), name);
  t.ok(alias.test('€uro') && !isWalletAlias('€uro'));
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
  t.match(paramsProblem('docs.get', { name: '../x.json' }), /^params\.name: expected document name: in the coffer layout .*; in the specter layout the file's path relative to the data folder/);
});
