import { ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attributesToJson, formatAttributes, hasErrorCode, parseAttributes } from '../../src/index.js';

const attrs = suite('agent attributes');

attrs('parses text, scalar, ranges and set values', () => {
  const list = parseAttributes('rack:r1;zone:a;level:5;ports:[1-2];s:{a,b}');
  assert.equal(list, [
    { name: 'rack', type: ValueType.TEXT, text: { value: 'r1' } },
    { name: 'zone', type: ValueType.TEXT, text: { value: 'a' } },
    { name: 'level', type: ValueType.SCALAR, scalar: { value: 5 } },
    { name: 'ports', type: ValueType.RANGES, ranges: { range: [{ begin: 1, end: 2 }] } },
    { name: 's', type: ValueType.SET, set: { item: ['a', 'b'] } },
  ]);
  assert.is(formatAttributes(list), 'rack:r1;zone:a;level:5;ports:[1-2];s:{a,b}');
  assert.equal(attributesToJson(list), { rack: 'r1', zone: 'a', level: 5, ports: '[1-2]', s: '{a,b}' });
  assert.equal(parseAttributes(formatAttributes(list)), list);
  assert.equal(parseAttributes(''), []);
});

attrs('bad attributes are AGORA_ERR_BAD_ATTRIBUTES naming the part', () => {
  for (const bad of [
    'rack',
    ':r1',
    'rack:',
    'rack:r1;rack:r2',
    'p:[2-1]',
    'p:[1-3,2-4]',
    'p:[x]',
    's:{a,}',
    'r a:1',
    'v:a}b',
  ]) {
    try {
      parseAttributes(bad);
      assert.unreachable(`'${bad}' should fail`);
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_ATTRIBUTES'), `${bad}: ${String(err)}`);
    }
  }
});

attrs.run();
