/**
 * The agent's work-dir layout, as in Mesos (`src/slave/paths.hpp`), with
 * `agents` where Mesos says `slaves`:
 *
 * ```
 * <work_dir>/agents/<agentId>/frameworks/<frameworkId>/executors/<executorId>/runs/<containerId>   the sandbox
 * <work_dir>/agents/<agentId>/frameworks/<frameworkId>/executors/<executorId>/runs/latest         symlink to the newest run
 * ```
 *
 * The command executor's executor id is the task id. Checkpointing and
 * recovery (Mesos' `meta/` tree) come in a later issue; until then every agent
 * start registers as a new agent and leaves old sandboxes in place.
 */
import { join } from 'node:path';
import { AgoraError } from '@agora/common';

/** Ids become path segments: refuse anything that could escape its directory. */
function segment(kind: string, id: string): string {
  if (id === '' || id === '.' || id === '..' || id.includes('/') || id.includes('\0')) {
    throw new AgoraError(
      'AGORA_ERR_BAD_REQUEST',
      `${kind} id ${JSON.stringify(id)} cannot be used as a directory name`,
      {
        data: { kind, id },
      },
    );
  }
  return id;
}

export function agentDir(workDir: string, agentId: string): string {
  return join(workDir, 'agents', segment('agent', agentId));
}

export function frameworkDir(workDir: string, agentId: string, frameworkId: string): string {
  return join(agentDir(workDir, agentId), 'frameworks', segment('framework', frameworkId));
}

export function executorDir(workDir: string, agentId: string, frameworkId: string, executorId: string): string {
  return join(frameworkDir(workDir, agentId, frameworkId), 'executors', segment('executor', executorId));
}

/** The sandbox of one run of an executor. */
export function sandboxDir(
  workDir: string,
  agentId: string,
  frameworkId: string,
  executorId: string,
  containerId: string,
): string {
  return join(executorDir(workDir, agentId, frameworkId, executorId), 'runs', segment('container', containerId));
}

/** The `latest` symlink beside an executor's runs. */
export function latestRunLink(workDir: string, agentId: string, frameworkId: string, executorId: string): string {
  return join(executorDir(workDir, agentId, frameworkId, executorId), 'runs', 'latest');
}
