import { parseResources } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HierarchicalDrfSorter } from '../../src/allocator/index.js';

const sorter = suite('hierarchical role sorter');

function make(): HierarchicalDrfSorter {
  const s = new HierarchicalDrfSorter();
  s.addTotal(parseResources('cpus:100;mem:1000'));
  return s;
}

sorter('a role’s share includes its children; siblings are sorted under their parent', () => {
  const s = make();
  s.allocated('eng/web', parseResources('cpus:20')); // eng/web 20/100 = 0.20
  s.allocated('eng/db', parseResources('cpus:20')); //  eng/db  20/100 = 0.20 → eng 0.40
  s.allocated('ops', parseResources('cpus:30')); //     ops     30/100 = 0.30
  assert.is(s.share('eng'), 0.4);
  assert.is(s.share('ops'), 0.3);
  // ops (0.30) before eng (0.40), although both eng roles alone (0.20) are below ops.
  assert.equal(s.sort(), ['ops', 'eng/db', 'eng/web']);
});

sorter('weights apply at their own level, inner roles included', () => {
  const s = make();
  s.allocated('eng/web', parseResources('cpus:20'));
  s.allocated('eng/db', parseResources('cpus:20'));
  s.allocated('ops', parseResources('cpus:30'));
  s.updateWeight('eng', 2); // eng 0.40 / 2 = 0.20 < ops 0.30
  assert.is(s.share('eng'), 0.2);
  assert.equal(s.sort(), ['eng/db', 'eng/web', 'ops']);
  s.updateWeight('eng/web', 4); // eng/web 0.20 / 4 = 0.05 < eng/db 0.20
  assert.equal(s.sort(), ['eng/web', 'eng/db', 'ops']);
});

sorter('a role with frameworks and children competes with them through its own allocation', () => {
  const s = make();
  s.allocated('eng', parseResources('mem:500')); //     eng itself: 500/1000 = 0.5
  s.allocated('eng/web', parseResources('mem:100')); // eng/web: 0.1
  assert.equal(s.sort(), ['eng/web', 'eng']);
  s.allocated('eng/web', parseResources('mem:500')); // eng/web: 0.6 > eng itself 0.5
  assert.equal(s.sort(), ['eng', 'eng/web']);
  assert.is(s.share('eng'), 1.1);
});

sorter('unallocating and removing clients updates the order', () => {
  const s = make();
  s.allocated('a', parseResources('cpus:10'));
  s.allocated('b', parseResources('cpus:5'));
  assert.equal(s.sort(), ['b', 'a']);
  s.unallocated('a', parseResources('cpus:10'));
  assert.equal(s.sort(), ['a', 'b']);
  s.remove('a');
  assert.equal(s.sort(), ['b']);
  assert.is(s.count(), 1);
  assert.ok(s.contains('b'));
  assert.not.ok(s.contains('a'));
});

sorter.run();
