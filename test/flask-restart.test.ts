import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { repoRoot, startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { FLASK_HINT, findPython, inCI } from './helpers/python.js';

/**
 * The reason Coffer exists, end to end over HTTP with real processes: log in to the Flask example,
 * store encrypted data through its page, SIGKILL the web process and start it again, and the same
 * cookie still reads and edits the data without logging in. Then restart cofferd: the user is sent
 * to the login page with a message (never a 500), and logs in again.
 */
t.setTimeout(120_000);

const flaskApp = path.join(repoRoot, 'client/python/examples/flask_app.py');
const python = findPython(['flask']);

/** A free localhost port (the web process is restarted on the same one, as a real deployment is). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The Flask example as a process; resolves once it prints its address. */
async function startWeb(pythonCmd: string, port: number, socket: string): Promise<{ child: ChildProcess; log: () => string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], FLASK_SECRET_KEY: 'a-stable-test-key-of-at-least-32-characters', COFFER_SOCKET: socket };
  const child = spawn(pythonCmd, [flaskApp, '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes(`listening on http://127.0.0.1:${port}`)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => reject(new Error(`the Flask app exited (${code}) before listening:\n${output}`)));
  });
  return { child, log: () => output };
}

/** A browser reduced to what the test needs: one cookie jar, no automatic redirects. */
class Browser {
  cookie = '';
  constructor(private readonly base: string) {}

  async get(pathname: string): Promise<{ status: number; location: string | null; body: string }> {
    return this.send(pathname, { method: 'GET' });
  }

  async post(pathname: string, form: Record<string, string>): Promise<{ status: number; location: string | null; body: string }> {
    return this.send(pathname, { method: 'POST', body: new URLSearchParams(form) });
  }

  /** The CSRF token of the form on a page. */
  async csrf(pathname: string): Promise<string> {
    const page = await this.get(pathname);
    const token = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) throw new Error(`no form on ${pathname} (${page.status}): ${page.body}`);
    return token;
  }

  private async send(pathname: string, init: RequestInit): Promise<{ status: number; location: string | null; body: string }> {
    const response = await fetch(this.base + pathname, { ...init, redirect: 'manual', headers: this.cookie ? { cookie: this.cookie } : {} });
    for (const setCookie of response.headers.getSetCookie()) {
      const pair = setCookie.split(';')[0]!;
      this.cookie = pair.endsWith('=') ? '' : pair; // Flask clears the session with an empty value
    }
    return { status: response.status, location: response.headers.get('location'), body: await response.text() };
  }
}

if (!python) {
  if (inCI) t.fail(`no python with Flask for the restart test: ${FLASK_HINT}`);
  else t.test('the restart story over HTTP', { skip: `no python with Flask: ${FLASK_HINT}` }, () => undefined);
} else {
  t.test('the restart story over HTTP', async (t) => {
    const daemon = await startDaemon(t, { args: FAST_KDF_ARGS, coverage: false });
    const admin = await daemon.client();
    await admin.call('users.create', { username: 'alice', password: 'pw' });
    const port = await freePort();
    let web = await startWeb(python, port, daemon.socketPath);
    t.teardown(() => void web.child.kill('SIGKILL'));
    const browser = new Browser(`http://127.0.0.1:${port}`);

    // Log in and store encrypted data through the page.
    const login = await browser.post('/login', { csrf: await browser.csrf('/login'), username: 'alice', password: 'pw' });
    t.equal(login.status, 302);
    t.equal(login.location, '/services/notes');
    const cookieAtLogin = browser.cookie;
    let token = await browser.csrf('/services/notes');
    t.equal((await browser.post('/services/notes/update', { csrf: token, key: 'seed', value: '"twelve words"' })).status, 302);
    t.match((await browser.get('/services/notes')).body, /&#34;seed&#34;: &#34;twelve words&#34;/);
    t.equal((await admin.call('daemon.status', {})).sessions, 1, 'one live session, its token in the cookie');

    // SIGKILL the web process, start it again: same cookie, no login, data readable and editable.
    web.child.kill('SIGKILL');
    await new Promise((resolve) => web.child.once('exit', resolve));
    web = await startWeb(python, port, daemon.socketPath);
    browser.cookie = cookieAtLogin;
    const after = await browser.get('/services/notes');
    t.equal(after.status, 200, 'still logged in after the web layer restarted');
    t.match(after.body, /Logged in as <b>alice<\/b>/);
    t.match(after.body, /&#34;seed&#34;: &#34;twelve words&#34;/, 'the encrypted data is readable');
    token = await browser.csrf('/services/notes');
    t.equal((await browser.post('/services/notes/update', { csrf: token, key: 'more', value: '2' })).status, 302);
    t.match((await browser.get('/services/notes')).body, /&#34;more&#34;: 2/, 'and editable');

    // cofferd down: a clear page, not a traceback.
    await daemon.stop();
    const down = await browser.get('/services/notes');
    t.equal(down.status, 503);
    t.match(down.body, /Coffer is unavailable/);
    t.notMatch(down.body, /Traceback/);

    // cofferd back (a restart ends every session): sent to the login page with a message.
    await daemon.start();
    const stale = await browser.get('/services/notes');
    t.equal(stale.status, 302, 'not a 500');
    t.equal(stale.location, '/login');
    const loginPage = await browser.get('/login');
    t.match(loginPage.body, /Your Coffer session has ended \(the daemon restarted, or it expired\)\. Please log in again\./);
    const again = await browser.post('/login', { csrf: /name="csrf" value="([^"]+)"/.exec(loginPage.body)![1]!, username: 'alice', password: 'pw' });
    t.equal(again.location, '/services/notes');
    t.match((await browser.get('/services/notes')).body, /&#34;seed&#34;: &#34;twelve words&#34;/, 'the data survived the daemon restart');

    // Logout ends the Coffer session.
    await browser.post('/logout', { csrf: await browser.csrf('/services/notes') });
    t.equal((await admin.call('daemon.status', {})).sessions, 0);
    t.notMatch(web.log(), /Traceback/, 'no exception reached the web log');
  });
}

