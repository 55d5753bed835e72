/**
 * `/state` benchmark: a master's state with 10,000 agents, 1,000 frameworks
 * and 50,000 tasks (plus 2,000 outstanding offers), served over real HTTP on
 * 127.0.0.1, requested repeatedly while a probe timer measures how long the
 * event loop is held (the longest gap between 1 ms ticks beyond 1 ms).
 *
 * Measured in the same run, on the same records:
 *  - snapshot:  StateSnapshot (cached serialized parts, checked per entity) streamed
 *               in ~64 KiB chunks — what the master serves now;
 *  - baseline:  buildStateJson + JSON.stringify per request — the per-request
 *               build the master used before (tasks grouped per framework by a
 *               scan of all tasks, as TaskTracker.byFramework does).
 * Each is run "still" (nothing changed between requests) and "churn" (before
 * every request 1 % of the tasks get a status update and 200 offers are
 * replaced, as a busy master would see between two polls).
 *
 * Run: node --conditions=development --import tsx bench/state.bench.ts
 *      (AGENTS, FRAMEWORKS, TASKS, REPS override 10000, 1000, 50000, 5; MODES=still,churn;
 *      NO_BASELINE=1 skips the baseline)
 */
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { parseResources } from '@agora/common';
import {
  type AgentRecord,
  buildStateJson,
  type FrameworkRecord,
  jsonPiecesBody,
  type OfferRecord,
  StateSnapshot,
  type TaskRecord,
} from '@agora/master';
import { agora, type MasterInfo, TaskState } from '@agora/proto';

const AGENTS = Number(process.env['AGENTS'] ?? 10_000);
const FRAMEWORKS = Number(process.env['FRAMEWORKS'] ?? 1_000);
const TASKS = Number(process.env['TASKS'] ?? 50_000);
const OFFERS = 2_000;
const REPS = Number(process.env['REPS'] ?? 5);

const now = Date.now();
const info: MasterInfo = agora.v1.MasterInfo.create({ id: 'bench', ip: 1, port: 5050, hostname: 'master.bench' });
const flags = { port: '5050', allocation_interval: '1secs' };

function makeWorld() {
  const agents: AgentRecord[] = [];
  for (let i = 0; i < AGENTS; i++) {
    agents.push({
      id: `agent-${i}`,
      hostname: `host-${i}.bench`,
      port: 5051,
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      total: parseResources('cpus:24;mem:65536;disk:409600;ports:[31000-32000]'),
      attributes: [{ name: 'rack', type: agora.v1.Value.Type.TEXT, text: { value: `r${i % 40}` } }],
      domain: { fault_domain: { region: { name: 'eu' }, zone: { name: `z${i % 3}` } } },
      version: '0.1.0',
      channel: undefined,
      connected: true,
      active: true,
      registeredTime: now,
      reregisteredTime: undefined,
      disconnectedTime: undefined,
      missedPongs: 0,
    });
  }
  const frameworks: FrameworkRecord[] = [];
  for (let i = 0; i < FRAMEWORKS; i++) {
    frameworks.push({
      id: `fw-${i}`,
      info: agora.v1.FrameworkInfo.create({ user: 'bench', name: `framework-${i}`, roles: [`role-${i % 10}`] }),
      roles: [`role-${i % 10}`],
      channel: undefined,
      connected: true,
      active: true,
      recovered: false,
      suppressedRoles: new Set(),
      capabilities: new Set([agora.v1.FrameworkInfo.Capability.Type.MULTI_ROLE]),
      registeredTime: now,
      reregisteredTime: undefined,
      unregisteredTime: undefined,
      heartbeat: undefined,
    });
  }
  const taskResources = parseResources('cpus:0.5;mem:512;ports:[31000-31001]');
  const tasks = new Map<string, TaskRecord>();
  for (let i = 0; i < TASKS; i++) {
    const id = `task-${i}`;
    const frameworkId = `fw-${i % FRAMEWORKS}`;
    tasks.set(`${frameworkId}\u0000${id}`, {
      frameworkId,
      taskId: id,
      agentId: `agent-${i % AGENTS}`,
      name: id,
      state: TaskState.TASK_RUNNING,
      resources: taskResources,
      labels: undefined,
      executorId: undefined,
      user: 'bench',
      statuses: [
        agora.v1.TaskStatus.create({ task_id: { value: id }, state: TaskState.TASK_STARTING, timestamp: now / 1000 }),
        agora.v1.TaskStatus.create({ task_id: { value: id }, state: TaskState.TASK_RUNNING, timestamp: now / 1000 }),
      ],
      statusUpdateState: TaskState.TASK_RUNNING,
      statusUpdateUuid: undefined,
    });
  }
  let offerN = 0;
  const offerResources = parseResources('cpus:4;mem:4096');
  const newOffer = (): OfferRecord => {
    const n = offerN++;
    const frameworkId = `fw-${n % FRAMEWORKS}`;
    const agentId = `agent-${(n * 7) % AGENTS}`;
    return {
      id: `offer-${n}`,
      frameworkId,
      agentId,
      resources: offerResources,
      role: `role-${n % 10}`,
      offer: agora.v1.Offer.create({
        id: { value: `offer-${n}` },
        framework_id: { value: frameworkId },
        agent_id: { value: agentId },
        hostname: `host-${(n * 7) % AGENTS}.bench`,
      }),
      createdAt: now,
    };
  };
  const offers = new Map<string, OfferRecord>();
  for (let i = 0; i < OFFERS; i++) {
    const o = newOffer();
    offers.set(o.id, o);
  }
  let churnN = 0;
  /** 1 % of the tasks get a status update (as TaskTracker.update does) and 200 offers are replaced. */
  const churn = () => {
    const list = [...tasks.values()];
    for (let i = 0; i < Math.ceil(TASKS / 100); i++) {
      const t = list[(churnN * 7919 + i * 104729) % list.length]!;
      t.statuses.push(
        agora.v1.TaskStatus.create({
          task_id: { value: t.taskId },
          state: TaskState.TASK_RUNNING,
          timestamp: now / 1000 + churnN,
          healthy: churnN % 2 === 0,
        }),
      );
      if (t.statuses.length > 50) t.statuses.shift();
    }
    const ids = [...offers.keys()].slice(0, 200);
    for (const id of ids) offers.delete(id);
    for (let i = 0; i < 200; i++) {
      const o = newOffer();
      offers.set(o.id, o);
    }
    churnN++;
  };
  return { agents, frameworks, tasks, offers, churn };
}

const world = makeWorld();

const snapshot = new StateSnapshot({
  info: () => info,
  leader: () => info,
  startTime: now,
  electedTime: () => now,
  flags: () => flags,
  agents: () => world.agents,
  frameworks: () => world.frameworks,
  completedFrameworks: () => [],
  tasks: () => [...world.tasks.values()],
  unreachableTasks: () => [],
  completedTasksOf: () => [],
  offers: () => [...world.offers.values()],
  unreachableAgents: () => 0,
});

/** The master's old per-request build (TaskTracker.byFramework scans every task per framework). */
function oldBody(): string {
  const all = () => [...world.tasks.values()];
  return JSON.stringify(
    buildStateJson({
      info,
      leader: info,
      startTime: now,
      electedTime: now,
      flags,
      agents: world.agents,
      frameworks: world.frameworks,
      completedFrameworks: [],
      tasksOf: (id) => all().filter((t) => t.frameworkId === id),
      completedTasksOf: () => [],
      offers: [...world.offers.values()],
      unreachableTasksOf: () => [],
      unreachableAgents: 0,
    }),
  );
}

let handlerMs = 0;
const server: Server = createServer((req, res) => {
  const started = performance.now();
  res.setHeader('content-type', 'application/json');
  if (req.url === '/old') {
    const body = oldBody();
    handlerMs = performance.now() - started;
    res.end(body);
    return;
  }
  const body = jsonPiecesBody(snapshot.state());
  handlerMs = performance.now() - started;
  if (typeof body === 'string') res.end(body);
  else body.pipe(res);
});

/** GET the path; resolves with the byte count and the time to the last byte (body discarded, not parsed). */
function fetchState(port: number, path: string): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ bytes, ms: performance.now() - started }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The longest time the event loop was held while `work` ran (gaps between 1 ms ticks, beyond the 1 ms). */
async function withBlockProbe<T>(work: () => Promise<T>): Promise<{ result: T; maxBlockMs: number }> {
  let last = performance.now();
  let maxBlockMs = 0;
  const timer = setInterval(() => {
    const t = performance.now();
    maxBlockMs = Math.max(maxBlockMs, t - last - 1);
    last = t;
  }, 1);
  try {
    const result = await work();
    return { result, maxBlockMs };
  } finally {
    clearInterval(timer);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  variant: string;
  mode: string;
  bytes: number;
  latency: number;
  handler: number;
  block: number;
}

async function measure(port: number, path: string, variant: string, mode: 'still' | 'churn'): Promise<Row> {
  const latencies: number[] = [];
  const handlers: number[] = [];
  const blocks: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REPS + 1; i++) {
    if (mode === 'churn') world.churn();
    const { result, maxBlockMs } = await withBlockProbe(() => fetchState(port, path));
    if (i === 0) continue; // warm-up (fills the snapshot's caches)
    bytes = result.bytes;
    latencies.push(result.ms);
    handlers.push(handlerMs);
    blocks.push(maxBlockMs);
  }
  return { variant, mode, bytes, latency: median(latencies), handler: median(handlers), block: Math.max(...blocks) };
}

async function main(): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // Same JSON from both (checked once).
  const a = JSON.parse(oldBody()) as unknown;
  const b = JSON.parse(snapshot.state().join('')) as unknown;
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('the snapshot and the per-request build differ');
  console.log(
    `# /state: ${AGENTS} agents, ${FRAMEWORKS} frameworks, ${TASKS} tasks, ${OFFERS} offers; ${REPS} requests each ` +
      `after a warm-up; node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'})`,
  );
  const rows: Row[] = [];
  const modes = (process.env['MODES'] ?? 'still,churn').split(',') as Array<'still' | 'churn'>;
  // The snapshot first: the baseline leaves hundreds of MB of garbage whose collection would land in later runs.
  for (const mode of modes) rows.push(await measure(port, '/new', 'snapshot', mode));
  if (process.env['NO_BASELINE'] === undefined) {
    for (const mode of modes) rows.push(await measure(port, '/old', 'baseline per-request build', mode));
  }
  console.log(
    '| variant | between requests | body MB | latency ms (median) | handler ms (median) | longest event-loop block ms (max) |',
  );
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.variant} | ${r.mode === 'still' ? 'no change' : '1 % tasks updated, 200 offers replaced'} | ` +
        `${(r.bytes / 1e6).toFixed(1)} | ${r.latency.toFixed(0)} | ${r.handler.toFixed(1)} | ${r.block.toFixed(0)} |`,
    );
  }
  server.close();
}

await main();
