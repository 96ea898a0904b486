// The printed report: one table per section, absolute numbers with the ratios next to them.
// Also used to render the same tables as Markdown for BENCHMARKS.md (`--markdown`).

export function fmtRps(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}

export function fmtMs(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function fmtMiB(x) {
  return typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(1)} MiB` : '–';
}

/** "0.82× echo", or "–" when the other side was not measured (skipped). */
export function fmtRatio(value, of) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  const digits = value >= 10 ? 0 : value >= 1 ? 1 : 2;
  return `${value.toFixed(digits)}× ${of}`;
}

/** The standard columns of a load case. */
export const LOAD_COLUMNS = ['case', 'clients/conns', 'req/s', 'p50 ms', 'p99 ms', 'server CPU', 'CPU µs/call', 'client CPU', 'ratio', 'note'];

export function loadRow(result, { ratio = '', note = '' } = {}) {
  return [
    result.label,
    `${result.clients}/${result.connections}`,
    fmtRps(result.rps),
    fmtMs(result.latencyMs.p50),
    fmtMs(result.latencyMs.p99),
    result.serverCpuPct === null ? '–' : `${Math.round(result.serverCpuPct)} %`,
    fmtMs(result.serverCpuUsPerCall),
    // The load generator shares the machine: near 100 % it, not the server, sets the pace.
    `${Math.round(result.clientCpuPct)} %`,
    ratio,
    note,
  ];
}

const numeric = /^[-–0-9.,×% ]+(ms|MiB|s|%)?$|^\d/;

/** Renders one table as aligned text. */
export function renderText({ title, columns, rows, notes = [] }) {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) =>
    cells
      .map((cell, i) => {
        const text = String(cell ?? '');
        return i > 0 && numeric.test(text) ? text.padStart(widths[i]) : text.padEnd(widths[i]);
      })
      .join('  ')
      .trimEnd();
  const out = [`\n== ${title} ==`, line(columns), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of rows) out.push(line(row));
  for (const note of notes) out.push(`  * ${note}`);
  return out.join('\n');
}

/** Renders one table as GitHub Markdown. */
export function renderMarkdown({ title, columns, rows, notes = [] }) {
  const esc = (cell) => String(cell ?? '').replace(/\|/g, '\\|');
  const out = [`### ${title}`, '', `| ${columns.join(' | ')} |`, `|${columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of rows) out.push(`| ${row.map(esc).join(' | ')} |`);
  if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
  return out.join('\n');
}
