/**
 * The cached state views answer exactly what the per-request build answers (state-view.ts' reference
 * functions), after any sequence of changes made through the real task tracker, offer manager and framework
 * manager (and agent record changes as the agent manager makes them): a cached part that missed a change
 * would show here as a difference.
 */
import { FakeClock, IdGenerator, parseResources, Resources, silentLogger } from '@agora/common';
import { agora, type MasterInfo, TaskState } from '@agora/proto';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentRecord } from '../../src/agents/agent-manager.js';
import { FrameworkManager } from '../../src/frameworks/framework-manager.js';
import { OfferManager } from '../../src/offers/offer-manager.js';
import { StateSnapshot, type TasksQuery } from '../../src/state/state-snapshot.js';
import { buildStateJson } from '../../src/state/state-view.js';
import { stateSummaryJson, tasksJson } from '../support/state-reference.js';
import { TaskTracker } from '../../src/tasks/task-tracker.js';

const test = suite('state snapshot equals the per-request build');

function world() {
  const clock = new FakeClock(1_700_000_000_000);
  const ids = new IdGenerator('m');
  const info: MasterInfo = agora.v1.MasterInfo.create({ id: 'm', ip: 1, port: 5050, hostname: 'master.test' });
  const frameworks = new FrameworkManager({
    clock,
    logger: silentLogger(),
    ids,
    heartbeatIntervalSeconds: 15,
    masterInfo: () => info,
  });
  const offers = new OfferManager({ clock, logger: silentLogger(), ids, offerTimeoutMs: undefined });
  const tasks = new TaskTracker(silentLogger());
  const agents: AgentRecord[] = [];
  const flags = { port: '5050' };
  const snapshot = new StateSnapshot({
    info: () => info,
    leader: () => info,
    startTime: 1_700_000_000_000,
    electedTime: () => 1_700_000_001_000,
    flags: () => flags,
    agents: () => agents,
    frameworks: () => frameworks.all(),
    completedFrameworks: () => frameworks.completed(),
    tasks: () => tasks.all(),
    unreachableTasks: () => tasks.allUnreachable(),
    completedTasksOf: (id) => tasks.completed(id),
    offers: () => offers.all(),
    unreachableAgents: () => 0,
  });
  const reference = () =>
    buildStateJson({
      info,
      leader: info,
      startTime: 1_700_000_000_000,
      electedTime: 1_700_000_001_000,
      flags,
      agents,
      frameworks: frameworks.all(),
      completedFrameworks: frameworks.completed(),
      tasksOf: (id) => tasks.byFramework(id),
      completedTasksOf: (id) => tasks.completed(id),
      offers: offers.all(),
      unreachableTasksOf: (id) => tasks.unreachableByFramework(id),
      unreachableAgents: 0,
    });
  return { clock, frameworks, offers, tasks, agents, snapshot, reference };
}

function newAgent(n: number, now: number): AgentRecord {
  return {
    id: `agent-${n}`,
    hostname: `host-${n}.test`,
    port: 5051,
    ip: `10.0.0.${n}`,
    total: parseResources('cpus:8;mem:8192;ports:[31000-31999]'),
    attributes: [],
    domain: n % 2 === 0 ? { fault_domain: { region: { name: 'r1' }, zone: { name: `z${n}` } } } : undefined,
    version: '0.1.0',
    channel: undefined,
    connected: true,
    active: true,
    registeredTime: now,
    reregisteredTime: undefined,
    disconnectedTime: undefined,
    missedPongs: 0,
  };
}

const parse = (pieces: string[]) => JSON.parse(pieces.join('')) as Record<string, unknown>;

const op = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.nat(1000), fc.nat(1000));

test('after every change, /state, /state-summary, /slaves, /frameworks and /tasks match the reference', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
      const w = world();
      let agentN = 0;
      let taskN = 0;
      const pick = <T>(list: readonly T[], i: number): T | undefined =>
        list.length === 0 ? undefined : list[i % list.length];
      for (const [kind, a, b] of ops) {
        w.clock.advance(1000);
        const now = w.clock.now();
        const agent = pick(w.agents, a);
        const framework = pick(w.frameworks.all(), b);
        const task = pick(w.tasks.all(), a);
        switch (kind) {
          case 0:
            w.agents.push(newAgent(++agentN, now));
            break;
          case 1:
            w.frameworks.recover({
              id: { value: `fw-${b}` },
              user: 'u',
              name: `framework ${b}`,
              roles: b % 3 === 0 ? ['a', 'b'] : [],
              checkpoint: b % 2 === 0,
            } as agora.v1.FrameworkInfo);
            break;
          case 2:
            if (agent !== undefined && framework !== undefined) {
              const id = `task-${++taskN}`;
              w.tasks.launch(
                framework.id,
                agora.v1.TaskInfo.create({
                  name: id,
                  task_id: { value: id },
                  agent_id: { value: agent.id },
                }),
                parseResources(`cpus:${(a % 4) + 1};mem:${64 * ((b % 4) + 1)}`),
                'u',
              );
            }
            break;
          case 3:
          case 4:
            if (task !== undefined) {
              const states = [
                TaskState.TASK_STARTING,
                TaskState.TASK_RUNNING,
                TaskState.TASK_FINISHED,
                TaskState.TASK_FAILED,
              ];
              const state = states[b % states.length]!;
              const uuid = new Uint8Array([b % 256, a % 256, taskN % 256]);
              w.tasks.update(
                task.frameworkId,
                agora.v1.TaskStatus.create({ task_id: { value: task.taskId }, state, timestamp: now / 1000, uuid }),
                undefined,
              );
              if (kind === 4) w.tasks.acknowledge(task.frameworkId, task.taskId, uuid);
            }
            break;
          case 5:
            if (task !== undefined) {
              w.tasks.markUnreachable(
                task,
                agora.v1.TaskStatus.create({
                  task_id: { value: task.taskId },
                  state: TaskState.TASK_UNREACHABLE,
                  timestamp: now / 1000,
                }),
              );
            }
            break;
          case 6: {
            const lost = pick(w.tasks.allUnreachable(), b);
            if (lost !== undefined) {
              w.tasks.endUnreachable(
                lost,
                agora.v1.TaskStatus.create({
                  task_id: { value: lost.taskId },
                  state: TaskState.TASK_GONE,
                  timestamp: now / 1000,
                }),
              );
            }
            break;
          }
          case 7:
            if (agent !== undefined && framework !== undefined) {
              w.offers.create(framework.id, agent, [
                { role: framework.roles[0] ?? '*', resources: parseResources('cpus:1;mem:32') },
              ]);
            }
            break;
          case 8: {
            const offer = pick(w.offers.all(), b);
            if (offer !== undefined) w.offers.remove(offer.id);
            break;
          }
          case 9:
            if (agent !== undefined) {
              agent.active = !agent.active;
              agent.connected = agent.active;
            }
            break;
          case 10:
            if (agent !== undefined) {
              agent.total = agent.total.add(parseResources(`disk:${b + 1}`));
              agent.reregisteredTime = now;
            }
            break;
          case 11:
            if (framework !== undefined) {
              w.tasks.removeFramework(framework.id, now);
              w.frameworks.remove(framework.id);
            }
            break;
          case 12:
            if (framework !== undefined) {
              if (a % 2 === 0) w.frameworks.suppress(framework.id, []);
              else w.frameworks.revive(framework.id, []);
            }
            break;
        }
        const ref = w.reference();
        assert.equal(parse(w.snapshot.state()), JSON.parse(JSON.stringify(ref)));
        assert.equal(parse(w.snapshot.summary()), JSON.parse(JSON.stringify(stateSummaryJson(ref))));
        const agentId = agent?.id;
        assert.equal(parse(w.snapshot.slaves(agentId)), {
          slaves: (ref['slaves'] as Array<{ id: string }>).filter((x) => agentId === undefined || x.id === agentId),
          recovered_slaves: [],
        });
        const fwId = framework?.id;
        const f = parse(w.snapshot.frameworks(fwId));
        const pickF = (list: unknown) =>
          (list as Array<{ id: string }>).filter((x) => fwId === undefined || x.id === fwId);
        assert.equal(f['frameworks'], pickF(ref['frameworks']));
        assert.equal(f['completed_frameworks'], pickF(ref['completed_frameworks']));
        const q: TasksQuery = { limit: 1 + (a % 7), offset: b % 3, order: a % 2 === 0 ? 'asc' : 'desc' };
        assert.equal(parse(w.snapshot.tasks(q)), JSON.parse(JSON.stringify(tasksJson(ref, q))));
      }
      w.frameworks.dispose();
      w.offers.dispose();
    }),
    { numRuns: 200 },
  );
});

test('an unchanged task is not serialized again (its cached text is reused)', () => {
  const w = world();
  w.agents.push(newAgent(1, w.clock.now()));
  const f = w.frameworks.recover({ id: { value: 'fw' }, user: 'u', name: 'f' } as agora.v1.FrameworkInfo)!;
  w.tasks.launch(
    f.id,
    agora.v1.TaskInfo.create({ name: 't', task_id: { value: 't' }, agent_id: { value: 'agent-1' } }),
    Resources.empty(),
    'u',
  );
  const first = w.snapshot.state();
  const again = w.snapshot.state();
  const taskPiece = (pieces: string[]) => pieces.find((p) => p.startsWith('{"id":"t",'));
  assert.ok(taskPiece(first) !== undefined);
  assert.is(taskPiece(first), taskPiece(again));
  w.frameworks.dispose();
});

test.run();
