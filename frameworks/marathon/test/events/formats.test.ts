/**
 * Field-by-field comparison of our events with Marathon's formats: the real
 * stream in `fixtures/api-examples_events.txt` (Marathon's docs), and the
 * payload table of Marathon's `Events.scala` / `Formats.scala` for every type
 * we publish (fields, and JSON types where the real sample shows them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DeploymentTracker } from '../../src/deployments/deployment-tracker.js';
import { EventBus } from '../../src/events/event-bus.js';
import {
  publishApiPost,
  publishDeploymentStarted,
  publishRegistered,
  publishTaskUpdate,
  publishUnknownTerminated,
  wireDeploymentEvents,
} from '../../src/events/publishers.js';
import { sseFrame } from '../../src/events/sse.js';
import type { MarathonEvent, PublishedEvent } from '../../src/events/types.js';
import type { TaskRecord } from '../../src/model/task.js';
import { app } from '../scheduling/fixtures.js';

const fixture = readFileSync(join(import.meta.dirname, 'fixtures', 'api-examples_events.txt'), 'utf8');

/** The frames of the real Marathon stream. */
const realFrames = fixture
  .split('\n\n')
  .map((b) => b.trim())
  .filter((b) => b !== '')
  .map((b) => {
    const [eventLine, dataLine] = b.split('\n');
    return { event: eventLine!.slice('event: '.length), data: JSON.parse(dataLine!.slice('data: '.length)) };
  });

/** Marathon's payload fields per event type (reference §6.1, from Events.scala and Formats.scala). */
const MARATHON_FIELDS: Record<string, string[]> = {
  api_post_event: ['clientIp', 'uri', 'appDefinition'],
  status_update_event: [
    'slaveId',
    'taskId',
    'taskStatus',
    'message',
    'appId',
    'host',
    'ipAddresses',
    'ports',
    'version',
  ],
  instance_changed_event: ['instanceId', 'condition', 'runSpecId', 'agentId', 'host', 'runSpecVersion'],
  unknown_instance_terminated_event: ['instanceId', 'runSpecId', 'condition'],
  app_terminated_event: ['appId'],
  group_change_success: ['groupId', 'version'],
  deployment_info: ['plan', 'currentStep'],
  deployment_step_success: ['plan', 'currentStep'],
  deployment_step_failure: ['plan', 'currentStep'],
  deployment_success: ['id', 'plan'],
  deployment_failed: ['id', 'plan', 'reason'],
  subscribe_event: ['callbackUrl', 'clientIp'],
  unsubscribe_event: ['callbackUrl', 'clientIp'],
  event_stream_attached: ['remoteAddress'],
  event_stream_detached: ['remoteAddress'],
  scheduler_registered_event: ['frameworkId', 'master'],
  scheduler_reregistered_event: ['master'],
  scheduler_disconnected_event: [],
};

const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function collect(): { bus: EventBus; events: PublishedEvent[] } {
  const bus = new EventBus({ clock: new FakeClock(Date.parse('2015-09-30T12:44:45.681Z')) });
  const events: PublishedEvent[] = [];
  bus.onDidPublish((e) => events.push(e));
  return { bus, events };
}

const task: TaskRecord = {
  id: 'foo.instance-0664256e-6771-11e5-94e1-be5b2935a987._app.1',
  appId: '/foo',
  agentId: '20150707-153709-218108076-5050-25588-S6',
  host: 'srv5.hw.ca1.mesosphere.com',
  state: 'TASK_STAGING',
  stagedAt: '2015-09-30T12:44:40.000Z',
  version: '2015-09-30T09:09:17.614Z',
  ports: [31776],
  servicePorts: [10000],
  ipAddresses: [{ ipAddress: '10.0.0.5', protocol: 'IPv4' }],
  role: '*',
};

const test = suite('event formats - field by field against Marathon');

test('status_update_event has every field of the real Marathon sample, with the same JSON types and order', () => {
  const { bus, events } = collect();
  publishTaskUpdate(bus, task, 'TASK_FAILED', 'Failed to launch container');
  const ours = events[0]!.event as unknown as Record<string, unknown>;
  for (const real of realFrames.filter((f) => f.event === 'status_update_event')) {
    for (const [field, value] of Object.entries(real.data)) {
      assert.ok(field in ours, `status_update_event.${field}`);
      assert.is(jsonType(ours[field]), jsonType(value), `type of ${field}`);
    }
    const extra = Object.keys(ours).filter((k) => !(k in real.data));
    assert.equal(extra, ['ipAddresses'], 'only ipAddresses (added in Marathon 1.x after this 2015 sample)');
    const realOrder = Object.keys(real.data);
    assert.equal(
      Object.keys(ours).filter((k) => realOrder.includes(k)),
      realOrder,
      'fields in Marathon order, eventType and timestamp last',
    );
  }
  assert.is(ours['taskStatus'], 'TASK_FAILED');
  assert.is(ours['slaveId'], task.agentId);
  assert.is(ours['timestamp'], '2015-09-30T12:44:45.681Z');
});

test('event_stream_attached matches the real sample, and frames read like Marathon frames', () => {
  const { bus, events } = collect();
  bus.publish({ remoteAddress: '0:0:0:0:0:0:0:1', eventType: 'event_stream_attached' });
  const real = realFrames.find((f) => f.event === 'event_stream_attached')!;
  const ours = events[0]!;
  assert.equal(Object.keys(ours.event), Object.keys(real.data));
  const frame = sseFrame(ours.event.eventType, ours.json, ours.id);
  const [e, d, id, blank, end] = frame.split('\n');
  assert.is(e, 'event: event_stream_attached');
  assert.equal(JSON.parse(d!.slice('data: '.length)), { ...real.data, timestamp: '2015-09-30T12:44:45.681Z' });
  assert.is(id, `id: ${ours.id}`);
  assert.is(blank, '');
  assert.is(end, '');
});

test('every event we publish has exactly Marathon payload fields plus eventType and timestamp', () => {
  const { bus, events } = collect();
  const a = app({ id: '/prod/web' });
  publishApiPost(bus, { clientIp: '10.1.1.1', uri: '/v2/apps' }, a);
  publishTaskUpdate(bus, task, 'TASK_RUNNING', undefined);
  publishUnknownTerminated(bus, task.id, '/foo', 'TASK_KILLED');
  publishRegistered(bus, 'fw-1', '127.0.0.1:5050', false);
  publishRegistered(bus, 'fw-1', '127.0.0.1:5050', true);
  bus.publish({ eventType: 'scheduler_disconnected_event' });
  bus.publish({ callbackUrl: 'http://h/cb', clientIp: '1.2.3.4', eventType: 'subscribe_event' });
  bus.publish({ callbackUrl: 'http://h/cb', clientIp: '1.2.3.4', eventType: 'unsubscribe_event' });
  bus.publish({ remoteAddress: '1.2.3.4', eventType: 'event_stream_attached' });
  bus.publish({ remoteAddress: '1.2.3.4', eventType: 'event_stream_detached' });
  const tracker = new DeploymentTracker();
  wireDeploymentEvents(tracker, bus);
  const start = (id: string, action: 'StartApplication' | 'StopApplication') => {
    const d = {
      id,
      appId: '/prod/web',
      action,
      version: '2015-09-30T09:09:17.614Z',
      createdAt: '2015-09-30T09:09:17.614Z',
    };
    publishDeploymentStarted(bus, tracker.start(d));
  };
  start('d1', 'StartApplication');
  start('d2', 'StopApplication'); // supersedes d1: deployment_step_failure + deployment_failed
  tracker.completeApp('/prod/web'); // d2 succeeds: step success, app_terminated_event, deployment_success

  const seen = new Set<string>();
  for (const { event } of events) {
    const expected = MARATHON_FIELDS[event.eventType];
    assert.ok(expected !== undefined, `a Marathon event type: ${event.eventType}`);
    assert.equal(Object.keys(event), [...expected!, 'eventType', 'timestamp'], event.eventType);
    seen.add(event.eventType);
  }
  assert.equal([...seen].sort(), Object.keys(MARATHON_FIELDS).sort(), 'every type in the table was produced');

  const byType = (t: string) =>
    events.find((e) => e.event.eventType === t)!.event as MarathonEvent & Record<string, unknown>;
  const plan = byType('deployment_info')['plan'] as { id: string; steps: unknown[]; version: string };
  assert.equal(Object.keys(plan), ['id', 'steps', 'version']);
  assert.is(plan.id, 'd1');
  assert.is(plan.version, '2015-09-30T09:09:17.614Z');
  assert.equal(plan.steps[0], { actions: [{ action: 'StartApplication', app: '/prod/web' }] });
  assert.equal(byType('deployment_info')['currentStep'], plan.steps[0]);
  assert.equal(byType('group_change_success')['groupId'], '/prod');
  assert.equal(byType('app_terminated_event')['appId'], '/prod/web');
  assert.is(byType('instance_changed_event')['condition'], 'Running');
  assert.is(byType('instance_changed_event')['instanceId'], 'foo.instance-0664256e-6771-11e5-94e1-be5b2935a987');
  assert.is((byType('api_post_event')['appDefinition'] as { id: string }).id, '/prod/web');
  const order = events.map((e) => e.event.eventType);
  assert.equal(order.slice(order.indexOf('deployment_info')), [
    'deployment_info',
    'group_change_success',
    'deployment_step_failure',
    'deployment_failed',
    'deployment_info',
    'group_change_success',
    'deployment_step_success',
    'app_terminated_event',
    'deployment_success',
  ]);
});

test.run();
