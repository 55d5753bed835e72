/**
 * The environment a task runs with (Mesos' command executor plus Marathon's
 * port variables): the agent's own environment (PATH, HOME, ...), then
 * MESOS_* and HOST, then PORT0..N / PORT / PORTS from the task's `ports`
 * resource in order, then the task's CommandInfo.environment, which wins.
 */
import type { agora } from '@agora/proto';

export interface TaskEnvironmentInput {
  taskId: string;
  frameworkId: string;
  executorId: string;
  sandbox: string;
  /** The agent's HTTP endpoint, `host:port`. */
  agentEndpoint: string;
  /** The agent's advertised hostname. */
  hostname: string;
  /** The task's resources (its `ports` ranges give PORT0..N). */
  resources: readonly agora.v1.Resource.$Properties[];
  environment?: agora.v1.Environment.$Properties | null | undefined;
  /** The agent's environment to inherit. */
  base: Readonly<Record<string, string | undefined>>;
}

const MAX_PORT = 65_535;

/** The task's ports, in the order of its `ports` ranges (the order a framework assigned them). */
export function taskPorts(resources: readonly agora.v1.Resource.$Properties[]): number[] {
  const ports: number[] = [];
  for (const r of resources) {
    if (r.name !== 'ports') continue;
    for (const range of r.ranges?.range ?? []) {
      const end = Math.min(Number(range.end), MAX_PORT);
      for (let p = Number(range.begin); p <= end; p++) ports.push(p);
    }
  }
  return ports;
}

export function buildTaskEnvironment(input: TaskEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.base)) if (v !== undefined) env[k] = v;
  env['MESOS_TASK_ID'] = input.taskId;
  env['MESOS_FRAMEWORK_ID'] = input.frameworkId;
  env['MESOS_EXECUTOR_ID'] = input.executorId;
  env['MESOS_SANDBOX'] = input.sandbox;
  env['MESOS_DIRECTORY'] = input.sandbox;
  env['MESOS_AGENT_ENDPOINT'] = input.agentEndpoint;
  env['HOST'] = input.hostname;
  const ports = taskPorts(input.resources);
  ports.forEach((p, i) => {
    env[`PORT${i}`] = String(p);
  });
  if (ports.length > 0) {
    env['PORT'] = String(ports[0]);
    env['PORTS'] = ports.join(',');
  }
  for (const variable of input.environment?.variables ?? []) {
    env[variable.name] = variable.value ?? '';
  }
  return env;
}
