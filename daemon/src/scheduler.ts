/** What the scheduler needs of a connection. */
export interface Schedulable {
  /** Calls this connection has in flight: the fewer, the sooner its next frame starts. */
  readonly inflightCount: number;
  /** Starts its next frame if it has one and its budgets allow; false when it cannot. */
  startOne(): boolean;
}

/**
 * Starts frames across connections fairly (DESIGN-NOTES "Reliability under abuse"): instead of
 * each socket starting every frame it reads at once (so a client pipelining hundreds of calls puts
 * them all ahead of a well-behaved client's one), frames wait in their connection and are started
 * from a check-phase callback, one per connection per pass, connections with fewer calls in flight
 * first, at most `perTurn` per event-loop turn. A quiet client's call thus waits behind at most
 * one turn of work, whatever the others pipeline.
 */
export class FairScheduler {
  private readonly ready = new Set<Schedulable>();
  private scheduled = false;

  constructor(private readonly perTurn: number) {}

  /** `connection` may have a frame to start. */
  wake(connection: Schedulable): void {
    this.ready.add(connection);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }

  private run(): void {
    this.scheduled = false;
    let budget = this.perTurn;
    while (budget > 0 && this.ready.size > 0) {
      const order = [...this.ready].sort((a, b) => a.inflightCount - b.inflightCount).slice(0, budget);
      for (const connection of order) {
        if (connection.startOne()) budget--;
        else this.ready.delete(connection);
      }
    }
    // More next turn, after the I/O (answers written, new frames read) that waited for this one.
    if (this.ready.size > 0) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }
}
