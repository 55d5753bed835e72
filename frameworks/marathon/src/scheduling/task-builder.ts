/**
 * The Mesos TaskInfo for one Marathon instance, with Marathon's task
 * environment (docs `task-environment-vars.md`): `PORT0..N-1`, `PORT`,
 * `PORTS`, `PORT_<NAME>`, `PORT_<servicePort>`, `HOST`, `MARATHON_APP_ID`,
 * `MARATHON_APP_VERSION`, `MARATHON_APP_RESOURCE_{CPUS,MEM,DISK,GPUS}`,
 * `MARATHON_APP_LABELS`, `MARATHON_APP_LABEL_<NAME>`, and the app's own `env`
 * (which wins). `cmd` runs under `/bin/sh -c`; `args` run directly. PURE.
 */
import type { CommandInfo, TaskInfo } from '@agora/proto';
import type { AppDefinition } from '../model/app-definition.js';
import { taskNameFor } from '../model/path-id.js';
import { secretVolumesOf, withSecretFiles } from '../model/secret-volumes.js';
import type { InstanceLaunch } from './offer-matcher.js';

/** Label values longer than this are not exported (Marathon's limit). */
export const MAX_LABEL_ENV_VALUE_LENGTH = 512;

/** A number as the JVM prints a Double: `1` → `1.0`, `0.1` → `0.1`. */
function jvmDouble(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

/** Upper case, and every character outside `[A-Za-z0-9_]` replaced by `_`. */
function envName(text: string): string {
  return text.toUpperCase().replace(/[^A-Za-z0-9_]/g, '_');
}

/** The environment Marathon gives a task of `app` on `host` with `hostPorts`. */
export function taskEnvironment(
  app: AppDefinition,
  host: string,
  hostPorts: readonly number[],
): Record<string, string> {
  const env: Record<string, string> = {};
  hostPorts.forEach((port, i) => {
    env[`PORT${i}`] = String(port);
    const def = app.portDefinitions[i];
    if (def !== undefined && def.port !== 0) env[`PORT_${def.port}`] = String(port);
    if (def?.name !== undefined) env[`PORT_${envName(def.name)}`] = String(port);
  });
  if (hostPorts.length > 0) {
    env['PORT'] = String(hostPorts[0]);
    env['PORTS'] = hostPorts.join(',');
  }
  env['HOST'] = host;
  env['MARATHON_APP_ID'] = app.id;
  env['MARATHON_APP_VERSION'] = app.version;
  env['MARATHON_APP_RESOURCE_CPUS'] = jvmDouble(app.cpus);
  env['MARATHON_APP_RESOURCE_MEM'] = jvmDouble(app.mem);
  env['MARATHON_APP_RESOURCE_DISK'] = jvmDouble(app.disk);
  env['MARATHON_APP_RESOURCE_GPUS'] = String(app.gpus);
  const image = app.container?.['docker'];
  if (typeof image === 'object' && image !== null && !Array.isArray(image) && typeof image['image'] === 'string') {
    env['MARATHON_APP_DOCKER_IMAGE'] = image['image'];
  }
  const labelNames: string[] = [];
  for (const [key, value] of Object.entries(app.labels)) {
    if (value.length > MAX_LABEL_ENV_VALUE_LENGTH) continue;
    const name = envName(key);
    labelNames.push(name);
    env[`MARATHON_APP_LABEL_${name}`] = value;
  }
  env['MARATHON_APP_LABELS'] = labelNames.join(' ');
  for (const [name, value] of Object.entries(app.env)) if (typeof value === 'string') env[name] = value;
  return env;
}

/** The command: `cmd` via the shell, or `args` as argv (argv[0] is the program). */
export function commandFor(app: AppDefinition, env: Record<string, string>): CommandInfo {
  const command: CommandInfo = {
    environment: { variables: Object.entries(env).map(([name, value]) => ({ name, value })) },
    uris: app.fetch.map((f) => {
      const uri: NonNullable<CommandInfo['uris']>[number] = {
        value: f.uri,
        executable: f.executable,
        extract: f.extract,
        cache: f.cache,
      };
      if (f.destPath !== undefined) uri.output_file = f.destPath;
      return uri;
    }),
  };
  if (app.args !== undefined && app.args.length > 0) {
    command.shell = false;
    command.value = app.args[0] ?? '';
    command.arguments = [...app.args];
  } else {
    command.shell = true;
    command.value = app.cmd ?? '';
  }
  if (app.user !== undefined) command.user = app.user;
  return command;
}

export interface TaskLaunchSpec {
  app: AppDefinition;
  taskId: string;
  agentId: string;
  hostname: string;
  instance: InstanceLaunch;
  /** Values of the app's secret references (env name → value), resolved at launch; only ever in the TaskInfo. */
  secretEnvironment?: Readonly<Record<string, string>>;
}

/** The TaskInfo to send in the LAUNCH operation. */
export function buildTaskInfo(spec: TaskLaunchSpec): TaskInfo {
  const { app, instance } = spec;
  const env = { ...taskEnvironment(app, spec.hostname, instance.hostPorts), ...spec.secretEnvironment };
  const task: TaskInfo = {
    name: taskNameFor(app.id),
    task_id: { value: spec.taskId },
    agent_id: { value: spec.agentId },
    resources: instance.resources.toProto(),
    command: withSecretFiles(commandFor(app, env), secretVolumesOf(app)),
    labels: { labels: Object.entries(app.labels).map(([key, value]) => ({ key, value })) },
  };
  if (app.taskKillGracePeriodSeconds !== undefined) {
    task.kill_policy = { grace_period: { nanoseconds: Math.round(app.taskKillGracePeriodSeconds * 1e9) } };
  }
  return task;
}
