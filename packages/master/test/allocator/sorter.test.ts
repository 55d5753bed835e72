import { parseResources } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DrfSorter, RandomSorter } from '../../src/allocator/index.js';
import { seeded } from './helpers.js';

const drf = suite('DrfSorter');

drf('orders by dominant share, lowest first, ties by name', () => {
  const s = new DrfSorter();
  s.addTotal(parseResources('cpus:10;mem:100'));
  s.add('c');
  s.allocated('b', parseResources('cpus:1;mem:50')); // dominant: mem 0.5
  s.allocated('a', parseResources('cpus:4;mem:10')); // dominant: cpus 0.4
  s.add('d');
  assert.equal(s.sort(), ['c', 'd', 'a', 'b']);
  assert.is(s.share('b'), 0.5);
  assert.is(s.share('nobody'), 0);
  assert.is(s.count(), 4);
});

drf('allocating and unallocating moves only that client', () => {
  const s = new DrfSorter();
  s.addTotal(parseResources('cpus:10'));
  for (const c of ['a', 'b', 'c']) s.add(c);
  assert.equal(s.sort(), ['a', 'b', 'c']);
  s.allocated('a', parseResources('cpus:2'));
  assert.equal(s.sort(), ['b', 'c', 'a']);
  s.allocated('c', parseResources('cpus:1'));
  assert.equal(s.sort(), ['b', 'c', 'a']);
  s.unallocated('a', parseResources('cpus:2'));
  assert.equal(s.sort(), ['a', 'b', 'c']);
  s.unallocated('b', parseResources('cpus:5'));
  assert.is(s.share('b'), 0, 'never below zero');
  s.remove('b');
  assert.equal(s.sort(), ['a', 'c']);
  assert.not.ok(s.contains('b'));
});

drf('weights divide the share; resources missing from the total are ignored', () => {
  const s = new DrfSorter();
  s.addTotal(parseResources('cpus:10'));
  s.allocated('heavy', parseResources('cpus:4;gpus:1'));
  s.allocated('light', parseResources('cpus:3'));
  s.updateWeight('heavy', 2);
  assert.is(s.share('heavy'), 0.2);
  assert.equal(s.sort(), ['heavy', 'light']);
  s.updateWeight('heavy', 0);
  assert.is(s.share('heavy'), 0.4, 'a weight that is not > 0 counts as 1');
});

drf.run();

const rnd = suite('RandomSorter');

rnd('orders by a weighted shuffle from the given random source', () => {
  const s = new RandomSorter(seeded(3));
  s.add('a');
  s.add('b');
  s.updateWeight('b', 3);
  let bFirst = 0;
  for (let i = 0; i < 2000; i++) if (s.sort()[0] === 'b') bFirst++;
  // P(b first) = 3/4.
  assert.ok(bFirst > 1350 && bFirst < 1650, `b first ${bFirst} times`);
  assert.equal(new RandomSorter(seeded(9)).sort(), []);
  s.allocated('a', parseResources('cpus:1'));
  s.addTotal(parseResources('cpus:4'));
  assert.is(s.share('a'), 0.25);
});

rnd.run();
