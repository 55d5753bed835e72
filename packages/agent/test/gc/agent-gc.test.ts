/** Sandbox GC wired into a real agent (real clock, short delays): finished sandboxes go, live ones stay. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import { createAgent } from '../../src/index.js';
import { MasterPeer } from '../support/master-peer.js';
import { waitFor } from '../support/wait.js';

const test = suite('sandbox gc in the agent');

test('a finished, acknowledged task loses its sandbox after gc_delay; a running one keeps it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'agora-agent-gc-'));
  const peer = await MasterPeer.start();
  const agent = createAgent(
    {
      master: `127.0.0.1:${peer.port}`,
      port: 0,
      workDir: join(root, 'work'),
      resources: 'cpus:2;mem:1024;disk:1000;ports:[31000-31009]',
      gcDelayMs: 300,
      diskWatchIntervalMs: 100,
      gcDiskHeadroom: 0,
    },
    { logger: silentLogger(), containerizer: new ProcessContainerizer() },
  );
  try {
    await agent.start();
    await peer.next((m) => m.register, 'Register');
    peer.send({ registered: { agent_id: { value: 'A1' }, master_info: { id: 'M1', ip: 0, port: 5050 } } });
    await waitFor(() => agent.agentId === 'A1', 'registered');
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
    await agent.close({ killTasks: true });
    await peer.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
