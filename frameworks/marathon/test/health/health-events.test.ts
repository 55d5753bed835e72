/** The health monitor publishes Marathon's health events while probing a real HTTP server that turns unhealthy. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, systemClock } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventBus } from '../../src/events/event-bus.js';
import type { MarathonEvent } from '../../src/events/types.js';
import { HealthMonitor } from '../../src/health/health-monitor.js';
import type { AppDefinition } from '../../src/model/app-definition.js';
import { parseAppDefinition } from '../../src/model/app-parser.js';
import type { TaskRecord } from '../../src/model/task.js';

const test = suite('health monitor publishes health events');

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('add → alive true → failed checks → unhealthy kill → remove, with Marathon fields', async () => {
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests++;
    res.writeHead(requests === 1 ? 200 : 503, { 'content-type': 'text/plain' });
    res.end('x');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const bus = new EventBus();
  const seen: MarathonEvent[] = [];
  bus.onDidPublish((e) => seen.push(e.event));
  const version = '2026-01-01T00:00:00.000Z';
  const parsed = parseAppDefinition({
    id: '/web',
    cmd: 'serve',
    portDefinitions: [{ port: 0 }],
    healthChecks: [
      {
        protocol: 'HTTP',
        path: '/health',
        portIndex: 0,
        gracePeriodSeconds: 0,
        intervalSeconds: 1,
        timeoutSeconds: 1,
        maxConsecutiveFailures: 2,
      },
    ],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.violations));
  const app: AppDefinition = {
    ...parsed.spec,
    version,
    versionInfo: { lastScalingAt: version, lastConfigChangeAt: version },
  };
  const task: TaskRecord = {
    id: 'web.instance-1234._app.1',
    appId: '/web',
    agentId: 'agent-1',
    host: '127.0.0.1',
    state: 'TASK_RUNNING',
    stagedAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    version,
    ports: [port],
    servicePorts: [],
    ipAddresses: [],
    role: '*',
  };
  const kills: Array<{ taskId: string; reason: string }> = [];
  const monitor: HealthMonitor = new HealthMonitor({
    app: (id) => (id === app.id ? app : undefined),
    appVersion: async () => app,
    tasks: () => [task],
    kill: (taskId, reason) => {
      kills.push({ taskId, reason });
      task.killRequestedAt = Date.now();
      monitor.sync();
    },
    clock: systemClock,
    logger: silentLogger(),
    events: bus,
  });
  try {
    monitor.sync();
    await until('the kill', () => kills.length > 0);
    const types = seen.map((e) => e.eventType);
    const order = [
      'add_health_check_event',
      'health_status_changed_event',
      'failed_health_check_event',
      'failed_health_check_event',
      'unhealthy_instance_kill_event',
      'remove_health_check_event',
    ];
    let at = 0;
    for (const t of types) if (t === order[at]) at++;
    assert.is(at, order.length, `events in order ${order.join(' → ')}; got ${types.join(', ')}`);
    const healthCheck = app.healthChecks[0];

    const add = seen.find((e) => e.eventType === 'add_health_check_event');
    assert.equal(add, {
      appId: '/web',
      version,
      healthCheck,
      eventType: 'add_health_check_event',
      timestamp: add?.timestamp,
    });

    const flips = seen.filter((e) => e.eventType === 'health_status_changed_event');
    assert.equal(
      flips.map((e) =>
        e.eventType === 'health_status_changed_event' ? [e.appId, e.instanceId, e.version, e.alive] : [],
      ),
      [
        ['/web', 'web.instance-1234', version, true],
        ['/web', 'web.instance-1234', version, false],
      ],
    );

    const failed = seen.filter((e) => e.eventType === 'failed_health_check_event');
    assert.is(failed.length, 2);
    for (const f of failed) {
      assert.equal(f, {
        appId: '/web',
        taskId: 'web.instance-1234',
        healthCheck,
        eventType: f.eventType,
        timestamp: f.timestamp,
      });
    }

    const instance = seen.filter((e) => e.eventType === 'instance_health_changed_event');
    assert.equal(
      instance.map((e) => (e.eventType === 'instance_health_changed_event' ? e.healthy : 'x')),
      [true, false],
    );
    const firstInstance = instance[0];
    if (firstInstance?.eventType !== 'instance_health_changed_event') throw new Error('no instance event');
    assert.is(firstInstance.instanceId, 'web.instance-1234');
    assert.is(firstInstance.runSpecId, '/web');
    assert.is(firstInstance.runSpecVersion, version);

    const kill = seen.find((e) => e.eventType === 'unhealthy_instance_kill_event');
    if (kill?.eventType !== 'unhealthy_instance_kill_event') throw new Error('no kill event');
    assert.is(kill.appId, '/web');
    assert.is(kill.taskId, task.id);
    assert.is(kill.instanceId, 'web.instance-1234');
    assert.is(kill.version, version);
    assert.is(kill.reason, 'HTTP 503');
    assert.is(kill.host, '127.0.0.1');
    assert.is(kill.slaveId, 'agent-1');
    assert.equal(kills, [{ taskId: task.id, reason: 'FAILED_HEALTH_CHECKS' }]);
    const remove = seen.find((e) => e.eventType === 'remove_health_check_event');
    assert.is(remove?.eventType === 'remove_health_check_event' ? remove.appId : undefined, '/web');
  } finally {
    monitor.close();
    bus.dispose();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test.run();
