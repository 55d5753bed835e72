/**
 * Orphan containers with real processes, as root: at recovery the isolating
 * containerizer destroys this agent's containers that no readable checkpoint
 * names — found by their runtime dir, their live supervisor, or (the runtime
 * dir gone) their cgroup holding this agent's processes — and never touches
 * another agent's containers under the same cgroups root, nor known ones.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container } from '../../src/containerizer/containerizer.js';
import { IsolatingContainerizer } from '../../src/containerizer/isolating.js';
import { detectHostIsolation, planIsolation } from '../../src/isolation/isolation.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('orphan containers: destroyed at recovery, only this agent’s');
const cgroupsRoot = `agora-orphans-${process.pid}`;
const host = detectHostIsolation({ cgroupsRoot });
const plan = planIsolation(undefined, host);
const HOST_PID = 'read -r p _ < /proc/self/stat; echo "$p" > pid';
let root = '';
const containers: Container[] = [];

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-orphans-'));
});
test.after(async () => {
  for (const c of containers) await c.kill(0);
  for (const base of Object.values(host.cgroups?.bases ?? {})) {
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base, { withFileTypes: true })) if (d.isDirectory()) rmdirSync(join(base, d.name));
    rmdirSync(base);
  }
  rmSync(root, { recursive: true, force: true });
});

/** One agent's containerizer: its own work dir, the shared cgroups root. */
function agentContainerizer(name: string): { c: IsolatingContainerizer; work: string } {
  const work = join(root, name);
  const c = new IsolatingContainerizer({
    plan,
    runtimeDir: join(work, 'meta', 'containers'),
    sandboxRoot: `${join(work, 'agents')}/`,
    logger: silentLogger(),
  });
  return { c, work };
}

async function launch(agent: { c: IsolatingContainerizer; work: string }, id: string) {
  const sandbox = join(agent.work, 'agents', 'A', 'frameworks', 'F', 'executors', id, 'runs', id);
  const container = await agent.c.launch({
    containerId: id,
    sandbox,
    command: { value: `${HOST_PID}; exec sleep 1000` },
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MESOS_SANDBOX: sandbox },
    resources: [{ name: 'mem', type: 0, scalar: { value: 64 } }],
  });
  containers.push(container);
  const pidFile = join(sandbox, 'pid');
  const pid = await waitFor(() => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), `${id} pid`);
  container.detach(); // as after kill -9 of the agent: nothing watches it any more
  return { container, pid };
}

test('unknown containers are destroyed; known ones and another agent’s are not', async () => {
  const mine = agentContainerizer('mine');
  const other = agentContainerizer('other');
  const orphan = await launch(mine, 'orphan-1');
  const kept = await launch(mine, 'kept-1');
  const foreign = await launch(other, 'foreign-1');
  const destroyed = await mine.c.destroyOrphans(new Set(['kept-1']));
  assert.equal(destroyed, ['orphan-1']);
  await waitFor(() => !isAlive(orphan.pid), 'the orphan’s task killed');
  assert.not.ok(existsSync(join(mine.work, 'meta', 'containers', 'orphan-1')), 'its runtime dir removed');
  for (const base of Object.values(host.cgroups?.bases ?? {})) {
    assert.not.ok(existsSync(join(base, 'orphan-1')), 'its cgroups removed');
  }
  assert.ok(isAlive(kept.pid), 'a known container runs on');
  assert.ok(isAlive(foreign.pid), 'another agent’s container runs on');
  assert.equal(await mine.c.destroyOrphans(new Set(['kept-1'])), [], 'nothing left to destroy');
});

test('a container whose runtime dir is gone is still found (by its supervisor or cgroup) and destroyed', async () => {
  const mine = agentContainerizer('mine-2');
  const lost = await launch(mine, 'lost-1');
  rmSync(join(mine.work, 'meta', 'containers', 'lost-1'), { recursive: true, force: true });
  const destroyed = await mine.c.destroyOrphans(new Set());
  assert.equal(destroyed, ['lost-1']);
  await waitFor(() => !isAlive(lost.pid), 'the lost container’s task killed');
});

test.run();
