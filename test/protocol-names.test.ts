import t from 'tap';
import {
  isAddress,
  isDocName,
  isSafeExistingName,
  isServiceId,
  isSpecterWalletAlias,
  isTxid,
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
