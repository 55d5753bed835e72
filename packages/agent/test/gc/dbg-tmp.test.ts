/** Sandbox GC wired into a real agent (real clock, short delays): finished sandboxes go, live ones stay. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent } from '/work/main/packages/agent/src/index.ts';
import { MasterPeer } from '/work/main/packages/agent/test/support/master-peer.ts';
import { waitFor } from '/work/main/packages/agent/test/support/wait.ts';

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
    { logger: (await import('@agora/common')).createLogger({ component: 'agent', level: 'info' } as never) },
  );
  try {
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
    await agent.start();
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
    await peer.next((m) => m.register, 'Register');
    peer.send({ registered: { agent_id: { value: 'A1' }, master_info: { id: 'M1', ip: 0, port: 5050 } } });
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
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
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
    await reach('long', TaskState.TASK_RUNNING);
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
    await reach('short', TaskState.TASK_FINISHED);
    assert.ok(existsSync(join(executors, 'short')));
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
    await waitFor(() => !existsSync(join(executors, 'short')), 'the finished sandbox collected', 15_000);
    // Several more checks pass; the running task's sandbox stays.
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(existsSync(join(executors, 'long', 'runs', 'latest', 'stdout')));
  } catch (e) { console.error('ERROR', e); throw e; } finally {
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
    await agent.close({ killTasks: true });
    console.error('step', new Error().stack?.split('\n')[1]?.trim());
    await peer.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
