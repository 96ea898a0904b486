/**
 * Reads share looks, as writes share a commit: a caller joins the next look if it has not started
 * yet (it will look after the caller came), else waits for the one in flight and starts the next.
 * Under many concurrent reads of one unit, one look (a stat, a query) serves a whole batch.
 */
export class SharedLook<T> {
  private last: Promise<unknown> = Promise.resolve();
  private next: Promise<T> | undefined;

  constructor(private readonly look: () => Promise<T>) {}

  run(): Promise<T> {
    this.next ??= this.last.then(() => {
      this.next = undefined;
      const look = this.look();
      this.last = look;
      return look;
    });
    return this.next;
  }
}
