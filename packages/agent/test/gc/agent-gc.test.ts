/** Sandbox GC wired into a real agent (real clock, short delays): finished sandboxes go, live ones stay. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import { startPeerAgent } from '../support/peer-agent.js';
import { waitFor } from '../support/wait.js';

const test = suite('sandbox gc in the agent');

test('a finished, acknowledged task loses its sandbox after gc_delay; a running one keeps it', async () => {
  const setup = await startPeerAgent({
    prefix: 'agora-agent-gc-',
    config: { gcDelayMs: 300, diskWatchIntervalMs: 100, gcDiskHeadroom: 0 },
    deps: { containerizer: new ProcessContainerizer() },
  });
  const { root, peer } = setup;
  try {
    const run = (taskId: string, command: string) =>
      peer.send({
        run_task: {
          framework: { user: 'u', name: 'fw', id: { value: 'F1' } },
          task: { name: taskId, task_id: { value: taskId }, agent_id: { value: 'A1' }, command: { value: command } },
        },
      });
    const reach = (taskId: string, state: TaskState) =>
      waitFor(() => {
        for (const u of peer.updates(taskId)) peer.ack(u);
        return peer.updates(taskId).some((u) => u.status.state === state);
      }, `${taskId} ${TaskState[state]}`);
    const executors = join(root, 'work', 'agents', 'A1', 'frameworks', 'F1', 'executors');
    run('long', 'sleep 30');
    run('short', 'true');
    await reach('long', TaskState.TASK_RUNNING);
    await reach('short', TaskState.TASK_FINISHED);
    assert.ok(existsSync(join(executors, 'short')));
    await waitFor(() => !existsSync(join(executors, 'short')), 'the finished sandbox collected', 15_000);
    // Several more checks pass; the running task's sandbox stays.
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(existsSync(join(executors, 'long', 'runs', 'latest', 'stdout')));
  } finally {
    await setup.close();
  }
});

test.run();
