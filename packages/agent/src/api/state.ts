/**
 * The agent's `/state` JSON, in the shape of Mesos' agent `/state` (what
 * Mesos-aware tooling and UIs read): id, pid, hostname, port, resources and
 * attributes in object form, master_hostname, and frameworks → executors →
 * tasks, with finished work under completed_* keys.
 */
import { attributesToJson, Resources } from '@agora/common';
import { type agora, TaskState } from '@agora/proto';
import type { FrameworkSnapshot, TaskSnapshot } from '../tasks/task-manager.js';

export interface AgentStateInput {
  id: string | undefined;
  /** The address the HTTP server listens on (for `pid`). */
  host: string;
  hostname: string;
  port: number;
  version: string;
  /** Seconds since the epoch. */
  startTime: number;
  resources: Resources;
  attributes: readonly agora.v1.Attribute.$Properties[];
  masterHostname: string | undefined;
  frameworks: readonly FrameworkSnapshot[];
}

type Json = Record<string, unknown>;

function resourcesJson(list: readonly agora.v1.Resource.$Properties[] | null | undefined): Json {
  try {
    return Resources.fromProto(list ?? []).toMesosJson();
  } catch {
    return {};
  }
}

function taskJson(task: TaskSnapshot, agentId: string): Json {
  const json: Json = {
    id: task.info.task_id.value,
    name: task.info.name,
    framework_id: task.frameworkId,
    executor_id: '',
    slave_id: agentId,
    state: TaskState[task.state],
    resources: resourcesJson(task.info.resources),
    statuses: task.statuses.map((s) => ({
      state: TaskState[s.state],
      timestamp: s.timestamp ?? 0,
      ...(s.message ? { message: s.message } : {}),
    })),
  };
  const labels = task.info.labels?.labels ?? [];
  if (labels.length > 0) json['labels'] = labels.map((l) => ({ key: l.key, value: l.value ?? '' }));
  return json;
}

function executorJson(task: TaskSnapshot, agentId: string, completed: boolean): Json {
  const taskId = task.info.task_id.value;
  const command = task.info.command?.value ?? '';
  const custom = task.info.executor;
  return {
    id: custom?.executor_id.value ?? taskId,
    name: custom
      ? (custom.name ?? custom.executor_id.value)
      : `Command Executor (Task: ${taskId}) (Command: sh -c '${command}')`,
    source: taskId,
    container: task.containerId,
    directory: task.sandbox ?? '',
    resources: resourcesJson(task.info.resources),
    tasks: completed ? [] : [taskJson(task, agentId)],
    queued_tasks: [],
    completed_tasks: completed ? [taskJson(task, agentId)] : [],
  };
}

function frameworkJson(fw: FrameworkSnapshot, agentId: string): Json {
  return {
    id: fw.id,
    name: fw.info.name,
    user: fw.info.user,
    role: fw.info.role ?? '*',
    hostname: fw.info.hostname ?? '',
    checkpoint: fw.info.checkpoint ?? false,
    executors: fw.live.map((t) => executorJson(t, agentId, false)),
    completed_executors: fw.completed.map((t) => executorJson(t, agentId, true)),
  };
}

export function agentStateJson(input: AgentStateInput): Json {
  const id = input.id ?? '';
  return {
    id,
    pid: `slave(1)@${input.host}:${input.port}`,
    hostname: input.hostname,
    port: input.port,
    version: input.version,
    start_time: input.startTime,
    resources: input.resources.toMesosJson(),
    attributes: attributesToJson(input.attributes),
    master_hostname: input.masterHostname ?? '',
    frameworks: input.frameworks.filter((f) => f.live.length > 0).map((f) => frameworkJson(f, id)),
    completed_frameworks: input.frameworks.filter((f) => f.live.length === 0).map((f) => frameworkJson(f, id)),
  };
}
