import { stringifyLossless, type LosslessObject } from '@coffer/protocol';

/**
 * Plain-text tables and values for the human output (`--json` prints the results as they are).
 * Values are printed exactly as stored (the lossless model: `1.0`, big ints, key order).
 */

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n');
}

/** `key  value` lines, keys aligned. */
export function keyValues(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n');
}

/** A JSON value in one table cell: strings bare, everything else as compact JSON. */
export function cell(value: unknown): string {
  return typeof value === 'string' ? value : stringifyLossless(value);
}

/** A JSON object as a KEY/VALUE table, or a note when it is empty. */
export function objectTable(data: LosslessObject, empty = '(no data)'): string {
  const entries = [...data];
  return entries.length === 0 ? empty : table(['KEY', 'VALUE'], entries.map(([key, value]) => [key, cell(value)]));
}

export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}
