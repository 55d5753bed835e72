import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DisposableStore,
  Emitter,
  FakeClock,
  IdGenerator,
  toDisposable,
  uuidBytes,
  uuidToString,
} from '../src/index.js';

const clock = suite('FakeClock - time moves only when told');

clock('timers fire in time order during advance', () => {
  const c = new FakeClock(0);
  const fired: string[] = [];
  c.setTimeout(() => fired.push('b@20'), 20);
  c.setTimeout(() => fired.push('a@10'), 10);
  const every = c.setInterval(() => fired.push(`tick@${c.now()}`), 15);
  c.advance(9);
  assert.equal(fired, []);
  c.advance(21);
  assert.equal(fired, ['a@10', 'tick@15', 'b@20', 'tick@30']);
  every.dispose();
  c.advance(100);
  assert.is(fired.length, 4);
  assert.is(c.now(), 130);
  assert.is(c.pendingTimers, 0);
});

clock('a disposed timeout never fires', () => {
  const c = new FakeClock(0);
  let n = 0;
  c.setTimeout(() => n++, 5).dispose();
  c.advance(10);
  assert.is(n, 0);
});

const life = suite('lifetimes and events');

life('a store disposes in reverse order, once', () => {
  const order: number[] = [];
  const store = new DisposableStore();
  store.add(toDisposable(() => order.push(1)));
  store.add(toDisposable(() => order.push(2)));
  store.dispose();
  store.dispose();
  assert.equal(order, [2, 1]);
  store.add(toDisposable(() => order.push(3)));
  assert.equal(order, [2, 1, 3], 'adding to a disposed store disposes at once');
});

life('emitter listeners unsubscribe through their disposable', () => {
  const e = new Emitter<number>();
  const seen: number[] = [];
  const sub = e.event((v) => seen.push(v));
  e.fire(1);
  sub.dispose();
  e.fire(2);
  assert.equal(seen, [1]);
});

life('ids follow Mesos formats', () => {
  const ids = new IdGenerator('m');
  assert.is(ids.frameworkId(), 'm-0000');
  assert.is(ids.frameworkId(), 'm-0001');
  assert.is(ids.agentId(), 'm-S0');
  assert.is(ids.offerId(), 'm-O0');
  const u = uuidBytes();
  assert.is(u.length, 16);
  assert.match(uuidToString(u), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

clock.run();
life.run();
