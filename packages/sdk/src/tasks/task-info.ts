/**
 * Small helpers for framework authors: build a TaskInfo from plain values,
 * and read an offer's resources as a `Resources` value to match tasks
 * against (`offerResources(offer).contains(needed)`).
 */
import { AgoraError, parseResources, Resources } from '@agora/common';
import type { CommandInfo, Offer, TaskInfo } from '@agora/proto';

/** A command: a shell line (`sh -c`), or a program with its argv. */
export type TaskCommand =
  | string
  | {
      /** The shell line (shell=true) or the program (shell=false). */
      value: string;
      /** argv including argv[0]; only used with shell=false. */
      arguments?: string[];
      /** Run `value` under `/bin/sh -c`. @default true without `arguments`, false with them */
      shell?: boolean;
    };

export interface TaskSpec {
  /** The task id; unique within the framework. */
  id: string;
  /** @default the id */
  name?: string;
  /** The agent of the offer the task is launched on. */
  agentId: string;
  /** What the task uses, e.g. `parseResources('cpus:0.1;mem:32')` or the text itself. */
  resources: Resources | string;
  command: TaskCommand;
  /** Environment variables added to the task's (on top of MESOS_TASK_ID, PORT0, ...). */
  env?: Readonly<Record<string, string>>;
  /** Labels as key/value pairs. */
  labels?: Readonly<Record<string, string>>;
  /** Time between SIGTERM and SIGKILL when the task is killed, ms. @default agent's (3 s) */
  killGracePeriodMs?: number;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Build a TaskInfo. Throws AGORA_ERR_BAD_REQUEST naming the field, or AGORA_ERR_BAD_RESOURCES. */
export function taskInfo(spec: TaskSpec): TaskInfo {
  const id = nonEmpty('id', spec.id);
  const agentId = nonEmpty('agentId', spec.agentId);
  const name = spec.name === undefined ? id : nonEmpty('name', spec.name);
  const resources = typeof spec.resources === 'string' ? parseResources(spec.resources) : spec.resources;
  if (!(resources instanceof Resources)) throw bad('resources', 'must be a Resources value or a resources string');
  if (resources.isEmpty()) throw bad('resources', 'must not be empty (a task needs cpus or mem)');

  const command = commandInfo(spec.command);
  if (spec.env !== undefined) {
    command.environment = {
      variables: Object.entries(spec.env).map(([key, value]) => {
        if (!ENV_NAME.test(key)) throw bad('env', `'${key}' is not a valid variable name`);
        if (typeof value !== 'string') throw bad('env', `value of '${key}' must be a string`);
        return { name: key, value };
      }),
    };
  }

  const task: TaskInfo = {
    name,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources: resources.toProto(),
    command,
  };
  if (spec.labels !== undefined) {
    task.labels = { labels: Object.entries(spec.labels).map(([key, value]) => ({ key, value })) };
  }
  if (spec.killGracePeriodMs !== undefined) {
    const ms = spec.killGracePeriodMs;
    if (!Number.isFinite(ms) || ms < 0) throw bad('killGracePeriodMs', `must be a finite number >= 0, got ${ms}`);
    task.kill_policy = { grace_period: { nanoseconds: Math.round(ms * 1_000_000) } };
  }
  return task;
}

/** The resources of an offer, as a `Resources` value. Throws AGORA_ERR_BAD_RESOURCES for a malformed offer. */
export function offerResources(offer: Pick<Offer, 'resources'>): Resources {
  return Resources.fromProto(offer.resources ?? []);
}

function commandInfo(command: TaskCommand): CommandInfo {
  if (typeof command === 'string') return { shell: true, value: nonEmpty('command', command) };
  if (typeof command !== 'object' || command === null)
    throw bad('command', 'must be a string or { value, arguments, shell }');
  const value = nonEmpty('command.value', command.value);
  const args = command.arguments;
  if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))) {
    throw bad('command.arguments', 'must be an array of strings');
  }
  const shell = command.shell ?? args === undefined;
  const info: CommandInfo = { shell, value };
  if (args !== undefined) {
    if (shell) throw bad('command.arguments', 'are ignored with shell=true; set shell: false to run value with them');
    info.arguments = [...args];
  }
  return info;
}

function nonEmpty(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw bad(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function bad(field: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', `task ${field} ${why}`, { data: { field } });
}
