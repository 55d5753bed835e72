import { parseMember, sortMembers, standingOf } from '@agora/coordination';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const L = 'json.info_';
const name = (seq: number): string => `${L}${String(seq).padStart(10, '0')}`;

const members = suite('election members');

members('a member is <label><10+ digit sequence>; anything else is ignored', () => {
  assert.equal(parseMember('json.info_0000000042', L), { name: 'json.info_0000000042', sequence: 42 });
  assert.equal(parseMember('json.info_-2147483648', L), { name: 'json.info_-2147483648', sequence: -2147483648 });
  for (const other of [
    'info_0000000001',
    'json.info_',
    'json.info_42',
    'json.info_00000000x1',
    'log_replicas',
    '0000000001',
  ]) {
    assert.is(parseMember(other, L), undefined, other);
  }
});

members('sortMembers orders by sequence and drops other children', () => {
  const sorted = sortMembers([name(7), 'log_replicas', name(3), 'info_0000000001', name(12)], L);
  assert.equal(
    sorted.map((m) => m.sequence),
    [3, 7, 12],
  );
});

members('standing: the lowest leads, others wait behind the next lower one, absent is missing', () => {
  const children = [name(9), name(2), name(5), 'log_replicas'];
  assert.equal(standingOf(children, L, name(2)), { kind: 'leader' });
  assert.equal(standingOf(children, L, name(9)), {
    kind: 'follower',
    predecessor: { name: name(5), sequence: 5 },
    position: 2,
  });
  assert.equal(standingOf(children, L, name(4)), { kind: 'missing' });
  assert.equal(standingOf(children, L, 'log_replicas'), { kind: 'missing' });
});

members('property: exactly one member leads, and each other watches the greatest lower sequence', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 9_999_999 }), { minLength: 1, maxLength: 20 }), (seqs) => {
      const children = seqs.map(name);
      const min = Math.min(...seqs);
      let leaders = 0;
      for (const seq of seqs) {
        const standing = standingOf(children, L, name(seq));
        if (standing.kind === 'leader') {
          leaders++;
          assert.is(seq, min);
        } else {
          assert.is(standing.kind, 'follower');
          const lower = seqs.filter((s) => s < seq);
          if (standing.kind === 'follower') assert.is(standing.predecessor.sequence, Math.max(...lower));
        }
      }
      assert.is(leaders, 1);
    }),
  );
});

members.run();
