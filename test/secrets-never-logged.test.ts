import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CofferError } from '@coffer/protocol';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { RawConnection } from './helpers/raw-socket.js';

t.setTimeout(120_000);

t.test('no password, session token or token bytes reach the log or any error message', async (t) => {
  const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--log-level', 'trace'] });
  const client = await daemon.client();
  const marker = randomBytes(6).toString('hex');
  const passwords = [`alpha-${marker}`, `beta-${marker}`, `gamma-${marker}`, `wrong-${marker}`, `p${marker}`.repeat(80)];
  const [alpha, beta, gamma, wrong, tooLong] = passwords as [string, string, string, string, string];
  const tokens: string[] = [];
  const messages: string[] = [];
  const attempt = async (call: Promise<unknown>): Promise<unknown> => {
    try {
      return await call;
    } catch (error) {
      if (!(error instanceof CofferError)) throw error;
      messages.push(error.message, JSON.stringify(error.data));
      return undefined;
    }
  };

  await attempt(client.call('users.create', { username: 'alice', password: alpha }));
  await attempt(client.call('users.create', { username: 'alice', password: alpha }));
  await attempt(client.call('users.create', { username: 'bob', password: tooLong }));
  for (let i = 0; i < 5; i++) await attempt(client.call('users.unlock', { username: 'alice', password: wrong }));
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const unlocked = (await attempt(client.call('users.unlock', { username: 'alice', password: alpha }))) as { session: string };
  tokens.push(unlocked.session);
  await attempt(client.call('sessions.check', { session: unlocked.session }));
  await attempt(client.call('users.rotateSecret', { session: unlocked.session }));
  await attempt(client.call('users.changePassword', { username: 'alice', oldPassword: wrong, newPassword: beta }));
  await attempt(client.call('users.changePassword', { username: 'alice', oldPassword: alpha, newPassword: beta }));
  const second = (await attempt(client.call('users.unlock', { username: 'alice', password: beta, ttlS: 60 }))) as { session: string };
  tokens.push(second.session);
  await attempt(client.call('sessions.end', { session: second.session }));
  await attempt(client.call('sessions.end', { session: second.session }));
  await attempt(client.call('users.create', { username: 'carol', password: gamma }));
  await attempt(client.call('users.delete', { username: 'carol', password: wrong }));
  await attempt(client.call('users.delete', { username: 'carol', password: gamma }));
  await attempt(client.call('users.unlock', { username: '../x', password: gamma }));
  await attempt(client.call('users.unlock', { username: 'nobody', password: gamma }));
  // Raw frames a client would never send, carrying secrets in odd places.
  const raw = await RawConnection.open(daemon.socketPath);
  t.teardown(() => raw.close());
  for (const frame of [
    `{"jsonrpc":"2.0","id":1,"method":"users.unlock","params":{"username":"alice","password":"${beta}","extra":"${alpha}"}}`,
    `{"jsonrpc":"2.0","id":2,"method":"users.unlock","params":{"username":"alice","password":${JSON.stringify(gamma)}`,
    `{"jsonrpc":"2.0","id":3,"method":"sessions.check","params":{"session":"${tokens[0]}x"}}`,
    `{"jsonrpc":"2.0","id":4,"method":"no.such.method","params":{"password":"${alpha}"}}`,
  ]) {
    await raw.write(frame + '\n');
    const reply = await raw.next();
    messages.push(JSON.stringify(reply));
  }
  await daemon.stop();

  t.equal(tokens.length, 2);
  t.ok(messages.length >= 14, 'error messages were collected');
  const logs = daemon.logs;
  t.match(logs, /"msg":"user unlocked"/, 'the log is not empty: unlocks are logged');
  t.match(logs, /wrong password/);
  const haystacks: Array<[string, string]> = [
    ['the log', logs],
    ['error messages', messages.join('\n')],
    ['users.json', readFileSync(path.join(daemon.dataDir, 'users.json'), 'utf8')],
  ];
  for (const [where, text] of haystacks) {
    const bytes = Buffer.from(text, 'utf8');
    for (const password of passwords) {
      t.notOk(text.includes(password.slice(0, 24)), `no password in ${where}`);
    }
    for (const token of tokens) {
      const raw = Buffer.from(token, 'base64url');
      t.notOk(text.includes(token.slice(0, 20)), `no session token in ${where}`);
      t.notOk(text.includes(raw.toString('base64').slice(0, 20)), `no standard-base64 token in ${where}`);
      t.notOk(text.includes(raw.toString('hex').slice(0, 24)), `no hex token in ${where}`);
      t.notOk(bytes.includes(raw), `no raw token bytes in ${where}`);
    }
  }
  t.notMatch(logs, marker, 'not even the random marker shared by every password');
});
