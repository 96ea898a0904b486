// Progress on stderr while the bench runs (the table goes to stdout). On a terminal one status
// line is rewritten in place; otherwise each step is one line, so a CI log shows where it is.

export function createProgress(stream = process.stderr) {
  const started = performance.now();
  const tty = Boolean(stream.isTTY);
  let section = '';
  let lastLine = 0;
  const stamp = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  const show = (text, always) => {
    const line = `${stamp()} [${section}] ${text}`;
    if (tty) stream.write(`\r\x1b[K${line.slice(0, (stream.columns ?? 120) - 1)}`);
    else if (always || performance.now() - lastLine > 5000) {
      stream.write(`${line}\n`);
      lastLine = performance.now();
    }
  };
  return {
    section(name) {
      section = name;
      show('start', true);
    },
    /** A new step of the current section. */
    step(text) {
      show(text, true);
    },
    /** A count within a long step (e.g. users created); throttled when not on a terminal. */
    tick(text) {
      show(text, false);
    },
    /** A line that stays (a skip, a warning). */
    note(text) {
      if (tty) stream.write('\r\x1b[K');
      stream.write(`${stamp()} [${section}] ${text}\n`);
    },
    done() {
      if (tty) stream.write('\r\x1b[K');
      stream.write(`${stamp()} done\n`);
    },
  };
}
