import t from 'tap';
import { FairScheduler, type Schedulable } from '../daemon/src/scheduler.js';

// The order in which frames start (DESIGN-NOTES "Reliability under abuse"), on the scheduler itself
// with connections that record their starts; the daemon-level case (a well-behaved client's calls
// answered ahead of pipelined backlogs, over real sockets) is in flow-control.test.ts.

/** A connection with `frames` read and not started; `inflight` counts calls started, never answered here. */
class Conn implements Schedulable {
  inflight = 0;
  constructor(
    readonly name: string,
    public frames: number,
    private readonly log: string[],
    private readonly blocked = false,
  ) {}
  get pendingCount(): number {
    return this.frames + this.inflight;
  }
  get waitingCount(): number {
    return this.frames;
  }
  startOne(): boolean {
    if (this.frames === 0 || this.blocked) return false;
    this.frames--;
    this.inflight++;
    this.log.push(this.name);
    return true;
  }
}

/** One event-loop turn: the scheduler runs in the check phase. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

t.test('a connection with one call goes ahead of busy connections, however long they have waited', async (t) => {
  const log: string[] = [];
  const scheduler = new FairScheduler(8);
  // 250 connections with 4 frames each: they wait many turns (8 starts per turn).
  const busy = Array.from({ length: 250 }, (_, i) => new Conn(`b${i}`, 4, log));
  busy.forEach((c) => scheduler.wake(c));
  for (let i = 0; i < 20; i++) await turn();
  t.equal(log.length, 160, '8 starts per turn');
  // Then a client with one call: it starts in the next turn, first.
  const probe = new Conn('probe', 1, log);
  scheduler.wake(probe);
  const before = log.length;
  await turn();
  t.equal(log[before], 'probe', 'the one-call client starts first in the next turn');
  t.equal(log.length, before + 8);
});

t.test('turns are short while a one-call client is being served and busy connections wait, long otherwise', async (t) => {
  const log: string[] = [];
  const scheduler = new FairScheduler(64);
  // Enough frames that the turns run on through the wait below.
  const busy = Array.from({ length: 100 }, (_, i) => new Conn(`b${i}`, 100_000, log));
  busy.forEach((c) => scheduler.wake(c));
  await turn();
  t.equal(log.length, 64, 'busy connections only: turns of 64 (fewer, cheaper turns)');
  scheduler.wake(new Conn('probe', 1, log));
  await turn();
  t.equal(log.length, 64 + 8, 'a one-call client came: a turn of 8, so its next call waits for little');
  t.equal(log[64], 'probe');
  await turn();
  t.equal(log.length, 64 + 16, 'and so while it may come back');
  await new Promise((resolve) => setTimeout(resolve, 150));
  const before = log.length;
  await turn();
  t.equal(log.length, before + 64, 'none for over 100 ms: turns of 64 again');
  busy.forEach((c) => (c.frames = 0));
});

t.test('busy connections are served in rounds, one frame per visit, each getting its share', async (t) => {
  const log: string[] = [];
  const scheduler = new FairScheduler(8);
  const a = new Conn('a', 100, log);
  const b = new Conn('b', 3, log);
  const c = new Conn('c', 100, log);
  [a, b, c].forEach((conn) => scheduler.wake(conn));
  await turn();
  t.same(log, ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b'], 'round robin: a pipeline of 100 does not go ahead of one of 3');
  await turn();
  t.same(log.slice(8), ['c', 'a', 'c', 'a', 'c', 'a', 'c', 'a'], 'b is done; the others go on in turn');
});

t.test('clients with one call cannot shut busy connections out: one start in five goes to a busy one', async (t) => {
  const log: string[] = [];
  const scheduler = new FairScheduler(8);
  const busy = new Conn('busy', 1000, log);
  scheduler.wake(busy);
  // 40 one-call clients arrive every turn (more than a turn can start).
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 40; i++) {
      const sparse = new Conn(`s${round}.${i}`, 1, log);
      scheduler.wake(sparse);
    }
    await turn();
  }
  const busyStarts = log.filter((name) => name === 'busy').length;
  t.equal(log.length, 80, '10 turns of 8');
  t.equal(busyStarts, 16, 'the busy connection got 1 of every 5 starts');
});

t.test('a connection that cannot start (over its budget) leaves the queues until it wakes again', async (t) => {
  const log: string[] = [];
  const scheduler = new FairScheduler(8);
  const stuck = new Conn('stuck', 5, log, true);
  const ok = new Conn('ok', 2, log);
  scheduler.wake(stuck);
  scheduler.wake(ok);
  await turn();
  await turn();
  t.same(log, ['ok', 'ok'], 'the blocked connection is skipped, the other served');
  await turn();
  t.same(log, ['ok', 'ok'], 'nothing is retried without a wake (no busy loop over a blocked connection)');
  // Woken again, as Connection.pump does once its budget allows, it is served.
  const freed = new Conn('freed', 1, log);
  scheduler.wake(freed);
  await turn();
  t.same(log, ['ok', 'ok', 'freed']);
});

t.test('a connection woken twice is queued once', async (t) => {
  const log: string[] = [];
  const scheduler = new FairScheduler(8);
  const a = new Conn('a', 2, log);
  scheduler.wake(a);
  scheduler.wake(a);
  const b = new Conn('b', 2, log);
  scheduler.wake(b);
  await turn();
  t.same(log, ['a', 'b', 'a', 'b'], 'a is not visited twice per round for being woken twice');
});
