/**
 * hello-framework: the smallest useful Agora framework.
 *
 * It subscribes, launches N tasks `echo hello; sleep 1` on the offers it
 * gets (0.1 cpus and 32 MB each), prints every status update, and when all
 * tasks have FINISHED it tears the framework down and exits 0. It exits 1 if
 * a task ends otherwise, 2 when --timeout passes first.
 *
 *   node --conditions=development --import tsx packages/sdk/examples/hello-framework.ts \
 *     --master 127.0.0.1:5050 [--tasks 3] [--timeout 120]
 *
 * `--master` also takes `http://host:port` or `zk://host:2181/agora`.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger, parseResources } from '@agora/common';
import { isTerminalState, TaskState, taskStateName } from '@agora/proto';
import { offerResources, SchedulerDriver, taskInfo } from '@agora/sdk';

const { values } = parseArgs({
  options: {
    master: { type: 'string', default: '127.0.0.1:5050' },
    tasks: { type: 'string', default: '3' },
    timeout: { type: 'string', default: '120' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: hello-framework.ts --master host:port|zk://… [--tasks N] [--timeout seconds]');
  process.exit(0);
}
const taskCount = Number(values.tasks);
const timeoutSeconds = Number(values.timeout);
if (!Number.isInteger(taskCount) || taskCount < 1) fail(`--tasks must be a positive integer, got '${values.tasks}'`);
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
  fail(`--timeout must be positive, got '${values.timeout}'`);

/** What each task needs from an offer. */
const perTask = parseResources('cpus:0.1;mem:32');
const run = Date.now().toString(36);
/** Task ids not launched yet. */
const waiting = Array.from({ length: taskCount }, (_, i) => `hello-${run}-${i + 1}`);
/** Last known state of every launched task. */
const states = new Map<string, TaskState>();

const driver = new SchedulerDriver({
  master: values.master,
  framework: { user: userInfo().username, name: 'hello-framework', failover_timeout: 60 },
  // The driver logs JSON lines to stderr; keep them to warnings unless AGORA_LOG_LEVEL says otherwise.
  logger: createLogger({ component: 'hello-framework', level: process.env['AGORA_LOG_LEVEL'] ?? 'warn' }),
});

driver.onDidSubscribe(({ frameworkId, resubscribed }) => {
  console.log(`${resubscribed ? 're-subscribed' : 'subscribed'} as framework ${frameworkId}`);
  if (waiting.length === 0) driver.suppress();
});

driver.onDidReceiveOffers((offers) => {
  for (const offer of offers) {
    let free = offerResources(offer);
    const tasks = [];
    while (waiting.length > 0 && free.contains(perTask)) {
      const id = waiting.shift()!;
      tasks.push(taskInfo({ id, agentId: offer.agent_id.value, resources: perTask, command: 'echo hello; sleep 1' }));
      free = free.subtract(perTask);
    }
    if (tasks.length === 0) {
      driver.decline([offer.id.value], { refuse_seconds: 30 });
      continue;
    }
    driver.launch([offer.id.value], tasks);
    for (const task of tasks) states.set(task.task_id.value, TaskState.TASK_STAGING);
    console.log(`launching ${tasks.map((t) => t.task_id.value).join(', ')} on ${offer.hostname}`);
  }
  if (waiting.length === 0) driver.suppress();
});

driver.onDidUpdateStatus((status) => {
  const id = status.task_id.value;
  if (!states.has(id)) return; // reconciliation answers for other runs
  states.set(id, status.state);
  const why = status.message ? ` (${status.message})` : '';
  console.log(`${id} ${taskStateName(status.state)}${why}`);
  const done = [...states.values()].filter((s) => isTerminalState(s) || s === TaskState.TASK_LOST);
  if (waiting.length === 0 && done.length === taskCount) {
    const finished = done.filter((s) => s === TaskState.TASK_FINISHED).length;
    console.log(`${finished} of ${taskCount} tasks finished`);
    void stop(finished === taskCount ? 0 : 1, true);
  }
});

driver.onDidReceiveError((err) => {
  console.error(`master error: ${err.message} (${err.code})`);
  if (err.data['fatal'] === true) void stop(1, false);
});

driver.onDidDisconnect(() => console.log('disconnected from the master; reconnecting'));

const deadline = setTimeout(() => {
  console.error(`timed out after ${timeoutSeconds} s`);
  void stop(2, true);
}, timeoutSeconds * 1000);
process.once('SIGINT', () => void stop(130, false));

let stopping = false;
async function stop(code: number, tearDown: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearTimeout(deadline);
  process.exitCode = code;
  // teardown() removes the framework (the master kills whatever still runs); close() keeps it for failover.
  if (tearDown && driver.connected) await driver.teardown();
  else await driver.close();
}

function fail(message: string): never {
  console.error(message);
  process.exit(64);
}

console.log(`hello-framework: ${taskCount} task(s) via ${values.master}`);
driver.start().catch((err: unknown) => {
  console.error(`could not subscribe: ${err instanceof Error ? err.message : String(err)}`);
  void stop(1, false);
});
