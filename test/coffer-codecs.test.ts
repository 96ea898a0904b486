import t from 'tap';
import { annotationsCodec, docCodec, servicesCodec } from '../daemon/src/layout/coffer/codecs.js';
import { LosslessNumber } from '@coffer/protocol';
import { toJs } from './helpers/plain.js';

const b = (s: string) => Buffer.from(s);

t.test('services files round-trip and refuse anything off-format', async (t) => {
  const enc = servicesCodec(true);
  const model = enc.decode(b('{"format":"coffer.services","version":1,"services":{"swan":"cf1:AA==","__proto__":"cf1:BB=="}}'));
  t.same([...model.entries.keys()], ['swan', '__proto__']);
  t.same(enc.decode(enc.encode(model)).entries, model.entries);
  t.equal(enc.encode(enc.empty()).toString(), '{"format":"coffer.services","version":1,"services":{}}\n');
  for (const bad of [
    '{"format":"coffer.services","version":2,"services":{}}',
    '{"format":"coffer.unencrypted-services","version":1,"services":{}}',
    '{"format":"coffer.services","version":1,"services":[]}',
    '{"format":"coffer.services","version":1,"services":{"a":{"x":1}}}',
    '[]',
    '',
  ]) t.throws(() => enc.decode(b(bad)), `refuses ${bad || 'empty file'}`);
  const plain = servicesCodec(false);
  const m2 = plain.decode(b('{"format":"coffer.unencrypted-services","version":1,"services":{"a":{"x":[1,2]}}}'));
  t.equal(m2.entries.get('a'), '{"x":[1,2]}');
  t.throws(() => plain.decode(b('{"format":"coffer.unencrypted-services","version":1,"services":{"a":"text"}}')));
  const copy = plain.clone(m2);
  copy.entries.set('b', '{}');
  t.notOk(m2.entries.has('b'), 'clone is independent');
});

t.test('annotations files', async (t) => {
  const text = '{"format":"coffer.annotations","version":1,"addrs":{"bc1qxyz":{"label":"x"}},"txs":{}}\n';
  const model = annotationsCodec.decode(b(text));
  t.same(toJs(model.addrs.get('bc1qxyz')), { label: 'x' }, 'values are the lossless model');
  t.equal(annotationsCodec.encode(model).toString(), text);
  t.throws(() => annotationsCodec.decode(b('{"format":"coffer.annotations","version":1,"addrs":{}}')));
  const copy = annotationsCodec.clone(model);
  copy.txs.set('t', LosslessNumber.int(1));
  t.equal(model.txs.size, 0);
  t.equal(annotationsCodec.encode(annotationsCodec.empty()).toString(), '{"format":"coffer.annotations","version":1,"addrs":{},"txs":{}}\n');
});

t.test('document files', async (t) => {
  const text =
    '{"format":"coffer.doc","version":1,"owner":"alice","encryptedFields":["pin"],"fields":{"name":{"plain":"x"},"pin":{"sealed":"cf1:AA=="}}}\n';
  const model = docCodec.decode(b(text));
  t.equal(model.owner, 'alice');
  t.same(model.fields.get('pin'), { sealed: true, token: 'cf1:AA==' });
  t.same(model.fields.get('name'), { sealed: false, value: 'x' });
  t.equal(docCodec.encode(model).toString(), text);
  for (const bad of [
    '{"format":"coffer.doc","version":1,"owner":5,"encryptedFields":[],"fields":{}}',
    '{"format":"coffer.doc","version":1,"owner":null,"encryptedFields":[1],"fields":{}}',
    '{"format":"coffer.doc","version":1,"owner":null,"encryptedFields":[],"fields":{"a":1}}',
  ]) t.throws(() => docCodec.decode(b(bad)));
  const copy = docCodec.clone(model);
  copy.encryptedFields.push('x');
  t.same(model.encryptedFields, ['pin']);
});
