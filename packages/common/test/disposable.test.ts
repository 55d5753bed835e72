import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DisposableStore, toDisposable } from '../src/index.js';

const test = suite('disposables - explicit lifetimes');

test('a store releases its items once, in reverse order', () => {
  const log: string[] = [];
  const store = new DisposableStore();
  store.add(toDisposable(() => log.push('a')));
  store.add(toDisposable(() => log.push('b')));
  assert.is(store.size, 2);
  store.dispose();
  store.dispose();
  assert.equal(log, ['b', 'a']);
  assert.ok(store.isDisposed);
  assert.is(store.size, 0);
});

test('adding to a disposed store releases the item at once', () => {
  const store = new DisposableStore();
  store.dispose();
  let released = 0;
  store.add(toDisposable(() => released++));
  assert.is(released, 1);
});

test('delete releases one item now and forgets it', () => {
  const log: string[] = [];
  const store = new DisposableStore();
  const a = store.add(toDisposable(() => log.push('a')));
  store.add(toDisposable(() => log.push('b')));
  store.delete(a);
  assert.equal(log, ['a']);
  store.dispose();
  assert.equal(log, ['a', 'b']);
});

test('toDisposable runs its function only once', () => {
  let n = 0;
  const d = toDisposable(() => n++);
  d.dispose();
  d.dispose();
  assert.is(n, 1);
});

test.run();
