/** What the scheduler needs of a connection. */
export interface Schedulable {
  /** Calls this connection has read and not answered (waiting to start, or in flight). */
  readonly pendingCount: number;
  /** Starts its next frame if it has one and its budgets allow; false when it cannot. */
  startOne(): boolean;
}

/**
 * Starts frames across connections fairly (DESIGN-NOTES "Reliability under abuse"): instead of
 * each socket starting every frame it reads at once (so a client pipelining hundreds of calls puts
 * them all ahead of a well-behaved client's one), frames wait in their connection and are started
 * from a check-phase callback, one per connection per pass, at most `perTurn` per event-loop turn.
 *
 * Order: the connection with the fewest calls pending goes first, less one for every turn it has
 * waited without a start. A client with one call outstanding thus goes ahead of clients that
 * pipeline several (with 1 000 callers on 250 connections, a well-behaved client waited up to 1.3 s
 * when the key was calls in flight: answers are quick, so nearly every connection had none in flight
 * and the tie fell to arrival order); the turns waited make sure a busy connection is served too.
 */
export class FairScheduler {
  /** Connections with frames to start, and how many turns each has waited without a start. */
  private readonly ready = new Map<Schedulable, number>();
  private scheduled = false;

  constructor(private readonly perTurn: number) {}

  /** `connection` may have a frame to start. */
  wake(connection: Schedulable): void {
    if (!this.ready.has(connection)) this.ready.set(connection, 0);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }

  private run(): void {
    this.scheduled = false;
    let budget = this.perTurn;
    while (budget > 0 && this.ready.size > 0) {
      // Each key computed once per pass, not once per comparison.
      const keyed = Array.from(this.ready, ([connection, waited]) => ({ connection, key: connection.pendingCount - waited }));
      const order = keyed.sort((a, b) => a.key - b.key).slice(0, budget);
      for (const { connection } of order) {
        if (connection.startOne()) {
          budget--;
          this.ready.set(connection, 0);
        } else {
          this.ready.delete(connection);
        }
      }
    }
    for (const [connection, waited] of this.ready) this.ready.set(connection, waited + 1);
    // More next turn, after the I/O (answers written, new frames read) that waited for this one.
    if (this.ready.size > 0) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }
}
