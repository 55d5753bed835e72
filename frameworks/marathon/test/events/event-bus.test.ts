/** The event bus: stamps, ids, one delivery order for every listener, isolation from failing listeners. */
import { FakeClock } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventBus } from '../../src/events/event-bus.js';
import type { PublishedEvent } from '../../src/events/types.js';

const test = suite('event bus - ordered, numbered, stamped delivery');

const msg = (bus: EventBus, m: string) =>
  bus.publish({ slaveId: 's', executorId: 'e', message: m, eventType: 'framework_message_event' });

test('events get increasing ids, an ISO timestamp with millis, and eventType/timestamp last in the JSON', () => {
  const clock = new FakeClock(Date.parse('2015-09-30T12:44:45.681Z'));
  const bus = new EventBus({ clock });
  const a = msg(bus, 'a');
  clock.advance(5);
  const b = msg(bus, 'b');
  assert.is(a.id, bus.firstId);
  assert.is(b.id, a.id + 1);
  assert.is(bus.lastId, b.id);
  assert.is(a.event.timestamp, '2015-09-30T12:44:45.681Z');
  assert.is(b.event.timestamp, '2015-09-30T12:44:45.686Z');
  assert.is(
    a.json,
    '{"slaveId":"s","executorId":"e","message":"a","eventType":"framework_message_event","timestamp":"2015-09-30T12:44:45.681Z"}',
  );
});

test('ids keep increasing across a restart (a new bus later in time)', () => {
  const clock = new FakeClock();
  const first = new EventBus({ clock });
  for (let i = 0; i < 500; i++) msg(first, String(i));
  clock.advance(1);
  const second = new EventBus({ clock });
  assert.ok(second.firstId > first.lastId);
});

test('an event published by a listener is delivered after the current one, so every listener sees one order', () => {
  const bus = new EventBus();
  const seenA: string[] = [];
  const seenB: string[] = [];
  bus.onDidPublish((e: PublishedEvent) => {
    seenA.push((e.event as { message: string }).message);
    if ((e.event as { message: string }).message === '1') msg(bus, 'nested');
  });
  bus.onDidPublish((e) => seenB.push((e.event as { message: string }).message));
  msg(bus, '1');
  msg(bus, '2');
  assert.equal(seenA, ['1', 'nested', '2']);
  assert.equal(seenB, ['1', 'nested', '2']);
});

test('a throwing listener does not stop delivery to the others; disposing a subscription stops it', () => {
  const bus = new EventBus();
  const seen: number[] = [];
  bus.onDidPublish(() => {
    throw new Error('boom');
  });
  const sub = bus.onDidPublish((e) => seen.push(e.id));
  const a = msg(bus, 'a');
  sub.dispose();
  msg(bus, 'b');
  assert.equal(seen, [a.id]);
});

test.run();
