/** A fault that stops start-up: its message says what is wrong and what to do. Exit code 1. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
