import t from 'tap';
import { discoverDocument, isMethodName, METHODS, paramsProblem, REASONS } from '@coffer/protocol';

t.test('every method has a summary, object params that refuse unknown members, and known errors', async (t) => {
  for (const [name, spec] of Object.entries(METHODS)) {
    t.match(name, /^[a-z]+(\.[a-z]+)+$/i, `${name} is namespace.verb`);
    t.ok(spec.summary.length > 10, `${name} has a summary`);
    t.equal((spec.params as { type?: string }).type, 'object');
    t.equal((spec.params as { additionalProperties?: boolean }).additionalProperties, false);
    for (const reason of spec.errors) t.ok(reason in REASONS, `${name}: ${reason} is in the table`);
  }
});

t.test('the discover document is plain JSON and names every method', async (t) => {
  const doc = discoverDocument('9.9.9');
  t.same(JSON.parse(JSON.stringify(doc)), doc, 'no symbols or functions survive in it');
  t.equal(doc.info.version, '9.9.9');
  t.same(
    (doc.methods as Array<{ name: string }>).map((m) => m.name),
    Object.keys(METHODS),
  );
});

t.test('paramsProblem names the member and never the value', async (t) => {
  t.equal(paramsProblem('daemon.status', {}), null);
  const problem = paramsProblem('daemon.status', { secretPassword: 'hunter2' });
  t.match(problem, /params\.secretPassword/);
  t.notMatch(problem, /hunter2/);
  t.ok(isMethodName('daemon.status'));
  t.notOk(isMethodName('hasOwnProperty'));
});
