/**
 * Events of an app's whole life on a real in-process cluster (master, agent
 * running real processes, Marathon on the file store), delivered to a real
 * HTTP subscriber and to an SSE reader: create, scale, delete, each in
 * Marathon's order, and the same sequence on both channels.
 */
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Marathon } from '../../src/marathon.js';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';
import { openStream, type SseStream } from './sse-client.js';
import { type ReceivedEvent, Subscriber } from './subscriber.js';

let cluster: Cluster | undefined;
let marathon: Marathon;
let sub: Subscriber;
let sse: SseStream;
const http = client(() => marathon.url);

const test = suite('events with a cluster - an app life in order on callbacks and SSE');

test.before(async () => {
  cluster = await startCluster({
    prefix: 'agora-events-cluster-',
    agents: [{ resources: 'cpus:4;mem:4096;disk:1000;ports:[31000-31099]' }],
  });
  marathon = cluster.marathon!;
  sub = await Subscriber.start();
});

test.after(async () => {
  sse?.close();
  await cluster?.close();
  await sub?.stop();
});

/** Index of the first event at or after `from` matching `pred`; fails naming `what` when there is none. */
function indexOf(events: ReceivedEvent[], from: number, what: string, pred: (e: ReceivedEvent) => boolean): number {
  for (let i = from; i < events.length; i++) if (pred(events[i]!)) return i;
  assert.unreachable(`${what} not found after index ${from} in ${events.map((e) => e.eventType).join(', ')}`);
  return -1;
}

function deploymentDone(id: string): boolean {
  return sub.received.some((e) => e.eventType === 'deployment_success' && e.id === id);
}

test('create, scale and delete publish Marathon events in order, identically on callbacks and SSE', async () => {
  const subscribed = await http.post(`/v2/eventSubscriptions?callbackUrl=${encodeURIComponent(sub.url)}`);
  assert.is(subscribed.status, 200);
  sse = await openStream(`${marathon.url}/v2/events`);

  // create
  const created = await http.post('/v2/apps', {
    id: '/life',
    cmd: 'exec sleep 1000',
    cpus: 0.1,
    mem: 32,
    instances: 1,
  });
  assert.is(created.status, 201, created.text);
  const d1 = created.headers.get('marathon-deployment-id')!;
  await waitFor(() => deploymentDone(d1), { timeoutMs: 45_000, message: 'create deployment succeeded' });
  const ev = sub.received;
  const post = indexOf(ev, 0, 'api_post_event', (e) => e.eventType === 'api_post_event');
  assert.is(ev[post]!.appDefinition.id, '/life');
  const info = indexOf(ev, post, 'deployment_info', (e) => e.eventType === 'deployment_info' && e.plan.id === d1);
  assert.equal(ev[info]!.currentStep, { actions: [{ action: 'StartApplication', app: '/life' }] });
  const staging = indexOf(
    ev,
    info,
    'STAGING',
    (e) => e.eventType === 'status_update_event' && e.taskStatus === 'TASK_STAGING',
  );
  const taskId = ev[staging]!.taskId as string;
  const running = indexOf(
    ev,
    staging,
    'RUNNING',
    (e) => e.eventType === 'status_update_event' && e.taskStatus === 'TASK_RUNNING',
  );
  assert.is(ev[running]!.taskId, taskId);
  assert.is(ev[running]!.appId, '/life');
  const changed = indexOf(
    ev,
    running,
    'instance_changed_event',
    (e) => e.eventType === 'instance_changed_event' && e.condition === 'Running',
  );
  assert.is(ev[changed]!.instanceId, taskId.slice(0, taskId.lastIndexOf('._app.')));
  indexOf(ev, changed, 'deployment_success', (e) => e.eventType === 'deployment_success' && e.id === d1);

  // scale
  const mark = ev.length;
  const scaled = await http.put('/v2/apps/life', { instances: 2 });
  assert.is(scaled.status, 200, scaled.text);
  const d2 = scaled.body.deploymentId as string;
  await waitFor(() => deploymentDone(d2), { timeoutMs: 45_000, message: 'scale deployment succeeded' });
  const post2 = indexOf(ev, mark, 'api_post_event (scale)', (e) => e.eventType === 'api_post_event');
  assert.is(ev[post2]!.uri, '/v2/apps/life');
  const info2 = indexOf(
    ev,
    post2,
    'deployment_info (scale)',
    (e) => e.eventType === 'deployment_info' && e.plan.id === d2,
  );
  assert.is(ev[info2]!.currentStep.actions[0].action, 'ScaleApplication');
  const staging2 = indexOf(
    ev,
    info2,
    'STAGING (scale)',
    (e) => e.eventType === 'status_update_event' && e.taskStatus === 'TASK_STAGING',
  );
  const second = ev[staging2]!.taskId;
  assert.is.not(second, taskId);
  const running2 = indexOf(
    ev,
    staging2,
    'RUNNING (scale)',
    (e) => e.eventType === 'status_update_event' && e.taskStatus === 'TASK_RUNNING' && e.taskId === second,
  );
  indexOf(ev, running2, 'deployment_success (scale)', (e) => e.eventType === 'deployment_success' && e.id === d2);

  // delete
  const mark3 = ev.length;
  const deleted = await http.delete('/v2/apps/life');
  assert.is(deleted.status, 200, deleted.text);
  const d3 = deleted.body.deploymentId as string;
  await waitFor(() => deploymentDone(d3), { timeoutMs: 45_000, message: 'delete deployment succeeded' });
  const info3 = indexOf(
    ev,
    mark3,
    'deployment_info (stop)',
    (e) => e.eventType === 'deployment_info' && e.plan.id === d3,
  );
  assert.is(ev[info3]!.currentStep.actions[0].action, 'StopApplication');
  const killedIds = new Set(
    ev
      .slice(info3)
      .filter((e) => e.eventType === 'status_update_event' && e.taskStatus === 'TASK_KILLED')
      .map((e) => e.taskId),
  );
  assert.equal(killedIds, new Set([taskId, second]));
  const terminated = indexOf(ev, info3, 'app_terminated_event', (e) => e.eventType === 'app_terminated_event');
  assert.is(ev[terminated]!.appId, '/life');
  indexOf(ev, terminated, 'deployment_success (stop)', (e) => e.eventType === 'deployment_success' && e.id === d3);

  // Both channels carry the same events in the same order (SSE also sees its own attach).
  const key = (e: { eventType: string; timestamp: string }) => `${e.eventType}@${e.timestamp}`;
  await waitFor(() => sse.events().some((f) => f.event === 'deployment_success' && f.data.id === d3));
  const fromSse = sse.events().map((f) => f.data);
  assert.is(fromSse[0].eventType, 'event_stream_attached');
  assert.is(ev[1]!.eventType, 'event_stream_attached', 'the callback subscriber saw the SSE client attach');
  const fromCallback = ev.slice(1, ev.findIndex((e) => e.eventType === 'deployment_success' && e.id === d3) + 1);
  assert.equal(fromSse.slice(0, fromCallback.length).map(key), fromCallback.map(key));
});

test.run();
