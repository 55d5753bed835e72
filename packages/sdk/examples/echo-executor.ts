/**
 * echo-executor: a small custom executor. The agent starts it for tasks whose
 * TaskInfo has `executor: { executor_id, command }`, e.g.
 *
 *   executor: { executor_id: { value: 'echo' },
 *               command: { value: 'node --conditions=development --import tsx packages/sdk/examples/echo-executor.ts' } }
 *
 * One executor runs many tasks. Each task's `data` (UTF-8) says what to do:
 * `run:<ms>` runs for that long then TASK_FINISHED; `fail:<ms>` ends
 * TASK_FAILED; anything else runs until killed. It reports TASK_RUNNING at
 * once, answers KILL with TASK_KILLED, echoes every framework message back as
 * `echo:<message>`, and on SHUTDOWN kills its tasks and exits 0. When its
 * agent restarts it keeps its tasks running and re-subscribes (the driver does
 * that); only when the driver gives up on the agent does it exit 1.
 */
import { createLogger } from '@agora/common';
import { TaskState } from '@agora/proto';
import { ExecutorDriver } from '@agora/sdk';

const logger = createLogger({ component: 'echo-executor' });
const driver = ExecutorDriver.fromEnvironment(process.env, logger);
const running = new Map<string, NodeJS.Timeout | undefined>();

function finish(taskId: string, state: TaskState, message: string): void {
  if (!running.has(taskId)) return;
  clearTimeout(running.get(taskId));
  running.delete(taskId);
  driver.sendStatusUpdate({ task_id: { value: taskId }, state, message });
}

driver.onDidLaunch((task) => {
  const taskId = task.task_id.value;
  const what = Buffer.from(task.data ?? new Uint8Array()).toString('utf8');
  driver.sendStatusUpdate({
    task_id: { value: taskId },
    state: TaskState.TASK_RUNNING,
    message: `echo-executor runs '${what}'`,
  });
  const m = /^(run|fail):(\d+)$/.exec(what);
  running.set(taskId, undefined);
  if (m !== null) {
    const fail = m[1] === 'fail';
    const timer = setTimeout(
      () => finish(taskId, fail ? TaskState.TASK_FAILED : TaskState.TASK_FINISHED, fail ? 'failed as asked' : 'done'),
      Number(m[2]),
    );
    running.set(taskId, timer);
  }
});
driver.onDidKill(({ taskId }) => finish(taskId, TaskState.TASK_KILLED, 'killed by the echo-executor'));
driver.onDidReceiveMessage((data) => {
  driver.sendFrameworkMessage(Buffer.from(`echo:${Buffer.from(data).toString('utf8')}`));
});
driver.onDidShutdown(() => {
  for (const taskId of [...running.keys()]) finish(taskId, TaskState.TASK_KILLED, 'executor shut down');
  setTimeout(() => process.exit(0), 100);
});
driver.onDidDisconnect(() => process.exit(1));

const subscribed = await driver.start();
logger.info({ agentId: subscribed.agentId, executorId: subscribed.executorInfo.executor_id.value }, 'subscribed');
