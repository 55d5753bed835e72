/**
 * The executor driver across agent restarts, against a real WebSocket server
 * playing the agent's executor endpoint: after a dropped connection it
 * re-subscribes with its launched tasks and unacknowledged updates (updates
 * made meanwhile included), fires `onDidDisconnect` only when it gives up
 * (the recovery timeout passed, or the agent refused it), and hears HEARTBEATs.
 */
import type { AddressInfo } from 'node:net';
import { agora, TaskState } from '@agora/proto';
import { type FrameChannel, wrapSocket } from '@agora/transport';
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer } from 'ws';
import { ExecutorDriver } from '../../src/index.js';

type Call = agora.v1.executor.ExecutorCall;
type EventProps = agora.v1.executor.ExecutorEvent.$Properties;
const EventType = agora.v1.executor.ExecutorEvent.Type;

/** The agent side: answers SUBSCRIBE with SUBSCRIBED (or ERROR when `refuse`), records every call. */
class AgentPeer {
  readonly calls: Call[] = [];
  channels: FrameChannel<Call, EventProps>[] = [];
  refuse = false;
  private constructor(readonly server: WebSocketServer) {
    server.on('connection', (ws) => {
      const channel = wrapSocket(ws, agora.v1.executor.ExecutorCall, agora.v1.executor.ExecutorEvent, 'executor');
      this.channels.push(channel);
      channel.onDidReceive((call) => {
        this.calls.push(call);
        if (!call.subscribe) return;
        if (this.refuse) {
          channel.send({ type: EventType.ERROR, error: { message: 'go away' } });
          channel.close(4403, 'refused');
          return;
        }
        channel.send({
          type: EventType.SUBSCRIBED,
          subscribed: {
            executor_info: { executor_id: { value: 'E' } },
            framework_info: { user: 'u', name: 'f' },
            agent_id: { value: 'A1' },
          },
        });
      });
    });
  }
  static async start(port = 0): Promise<AgentPeer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port, path: '/agora/v1/executor' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new AgentPeer(server);
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  get last(): FrameChannel<Call, EventProps> | undefined {
    return this.channels[this.channels.length - 1];
  }
  subscribes(): Call[] {
    return this.calls.filter((c) => c.subscribe);
  }
  async close(): Promise<void> {
    for (const ws of this.server.clients) ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const test = suite('executor driver: re-subscription after the agent restarts');
const drivers: ExecutorDriver[] = [];
const peers: AgentPeer[] = [];
test.after.each(async () => {
  for (const d of drivers.splice(0)) await d.stop();
  for (const p of peers.splice(0)) await p.close();
});

async function setup(options: { recoveryTimeoutMs?: number } = {}) {
  const peer = await AgentPeer.start();
  peers.push(peer);
  const driver = new ExecutorDriver({
    endpoint: `ws://127.0.0.1:${peer.port}/agora/v1/executor`,
    frameworkId: 'F',
    executorId: 'E',
    subscriptionBackoffMaxMs: 100,
    ...options,
  });
  drivers.push(driver);
  let disconnected = 0;
  driver.onDidDisconnect(() => disconnected++);
  await driver.start();
  return { peer, driver, disconnects: () => disconnected };
}

test('a dropped connection: the driver re-subscribes with its tasks and the updates made meanwhile', async () => {
  const { peer, driver, disconnects } = await setup();
  peer.last?.send({
    type: EventType.LAUNCH,
    launch: { task: { name: 't', task_id: { value: 't1' }, agent_id: { value: 'A1' } } },
  });
  peer.last?.send({
    type: EventType.LAUNCH,
    launch: { task: { name: 't', task_id: { value: 't2' }, agent_id: { value: 'A1' } } },
  });
  await waitFor(() => driver.unacknowledgedCount === 0 && peer.calls.length >= 1, {
    timeoutMs: 5000,
    message: 'launched',
  });
  await new Promise((r) => setTimeout(r, 50));
  // The agent dies (its socket goes); meanwhile the executor reports t1 finished.
  for (const ws of peer.server.clients) ws.terminate();
  await new Promise((r) => setTimeout(r, 20));
  driver.sendStatusUpdate({ task_id: { value: 't1' }, state: TaskState.TASK_FINISHED });
  const again = await waitFor(() => peer.subscribes()[1], { timeoutMs: 5000, message: 'a second SUBSCRIBE' });
  assert.equal(
    again.subscribe?.unacknowledged_updates.map((u) => [u.status.task_id.value, u.status.state]),
    [['t1', TaskState.TASK_FINISHED]],
  );
  assert.equal(
    again.subscribe?.unacknowledged_tasks.map((t) => t.task_id.value),
    ['t2'],
    't2 has no pending update: it is listed as a task',
  );
  assert.is(disconnects(), 0, 'no disconnect while re-subscribing works');
  // Connected again: updates and messages flow on the new connection.
  await waitFor(() => peer.channels.length === 2, { timeoutMs: 5000, message: 'second connection' });
  driver.sendStatusUpdate({ task_id: { value: 't2' }, state: TaskState.TASK_RUNNING });
  await waitFor(() => peer.calls.some((c) => c.update?.status.task_id.value === 't2'), {
    timeoutMs: 5000,
    message: 'the update on the new connection',
  });
});

test('the agent stays away past the recovery timeout: onDidDisconnect fires', async () => {
  const { peer, disconnects } = await setup({ recoveryTimeoutMs: 500 });
  await peer.close();
  peers.splice(peers.indexOf(peer), 1);
  await waitFor(() => disconnects() === 1, { timeoutMs: 5000, message: 'the driver gave up' });
});

test('the agent refuses the re-subscription: onDidDisconnect fires, no more attempts', async () => {
  const { peer, disconnects } = await setup();
  peer.refuse = true;
  for (const ws of peer.server.clients) ws.terminate();
  await waitFor(() => disconnects() === 1, { timeoutMs: 5000, message: 'the driver gave up' });
  const attempts = peer.subscribes().length;
  await new Promise((r) => setTimeout(r, 400));
  assert.is(peer.subscribes().length, attempts, 'no further attempts');
});

test('HEARTBEAT events reach onDidReceiveHeartbeat', async () => {
  const { peer, driver } = await setup();
  let beats = 0;
  driver.onDidReceiveHeartbeat(() => beats++);
  peer.last?.send({ type: EventType.HEARTBEAT });
  peer.last?.send({ type: EventType.HEARTBEAT });
  await waitFor(() => beats === 2, { timeoutMs: 5000, message: 'two heartbeats' });
});

test('MESOS_RECOVERY_TIMEOUT must be a Mesos duration', () => {
  const env = { MESOS_FRAMEWORK_ID: 'F', MESOS_EXECUTOR_ID: 'E', MESOS_AGENT_ENDPOINT: '127.0.0.1:1' };
  ExecutorDriver.fromEnvironment({ ...env, MESOS_RECOVERY_TIMEOUT: '15mins' });
  assert.throws(
    () => ExecutorDriver.fromEnvironment({ ...env, MESOS_RECOVERY_TIMEOUT: 'soon' }),
    /MESOS_RECOVERY_TIMEOUT/,
  );
});

test.run();
