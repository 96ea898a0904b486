// The targets of issue 7, read from the results of the sections that ran. Reported, never
// asserted: a miss is a finding for BENCHMARKS.md, not a failed run.
import { fmtMs, fmtRatio } from './table.mjs';

/** [name, how it is measured, the value, the bound, 'min'|'max', unit] for each target. */
function targetList(s) {
  const at = (obj, ...keys) => keys.reduce((o, k) => (o == null ? undefined : o[k]), obj);
  return [
    ['status vs raw echo, serial', 'transport', at(s.transport, 'ratios', 'statusVsEcho1'), 0.7, 'min', '×'],
    ['status vs raw echo, 50 conns', 'transport', at(s.transport, 'ratios', 'statusVsEcho50'), 0.7, 'min', '×'],
    ['encrypted cached get vs Redis GET, 50 conns', 'redis', at(s.redis, 'ratios', 'encGetVsGet50'), 0.5, 'min', '×'],
    ['grouped update, 1 file, 64 clients vs Redis SET (fsync always)', 'redis', at(s.redis, 'ratios', 'updateVsSet64'), 0.5, 'min', '×'],
    ['grouped vs ungrouped update, 1 file, 64 clients', 'writes', at(s.writes, 'ratios', 'groupedVsUngrouped_one_64'), 10, 'min', '×'],
    ['p99 of status during 2 unlocks', 'unlock', at(s.unlock, 'busy', 'status', 'latencyMs', 'p99'), 5, 'max', 'ms'],
    ['p99 of encrypted get during 2 unlocks', 'unlock', at(s.unlock, 'busy', 'get', 'latencyMs', 'p99'), 5, 'max', 'ms'],
    ['read p50, most vs fewest users on disk', 'growth', at(s.growth, 'flatness', 'read'), 1.5, 'max', '×'],
    ['write p50, most vs fewest users on disk', 'growth', at(s.growth, 'flatness', 'write'), 1.5, 'max', '×'],
  ];
}

export function evaluateTargets(sections) {
  const results = targetList(sections).map(([name, section, value, bound, kind, unit]) => {
    const measured = typeof value === 'number' && Number.isFinite(value);
    const met = measured ? (kind === 'min' ? value >= bound : value <= bound) : null;
    return { name, section, value: measured ? value : null, bound, kind, unit, met };
  });
  const show = (v, unit) => (unit === 'ms' ? `${fmtMs(v)} ms` : fmtRatio(v, '').trim());
  const rows = results.map((t) => [
    t.name,
    t.value === null ? `not measured (${t.section})` : show(t.value, t.unit),
    `${t.kind === 'min' ? '≥' : '≤'} ${t.unit === 'ms' ? `${t.bound} ms` : `${t.bound}×`}`,
    t.met === null ? '–' : t.met ? 'met' : 'MISSED',
  ]);
  return { results, table: { title: 'Targets (reported, not asserted)', columns: ['target', 'measured', 'bound', 'verdict'], rows } };
}
