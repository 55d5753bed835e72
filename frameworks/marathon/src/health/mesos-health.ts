/**
 * Mesos-side health checks (MESOS_HTTP, MESOS_HTTPS, MESOS_TCP, COMMAND):
 * the `TaskInfo.health_check` the agent runs. A TaskInfo carries one check;
 * the first Mesos-side check of the app is used (Marathon allows at most one
 * besides COMMAND). The agent reports the result in `TaskStatus.healthy` and
 * kills the task itself after `consecutive_failures`. PURE.
 */
import { agora } from '@agora/proto';
import { checkPort, type HealthCheckSpec, healthCheckSpecs, isMarathonSide } from './health-policy.js';

const Type = agora.v1.HealthCheck.Type;

/** The TaskInfo health check for an app's task with these host ports, or undefined when the app has none. */
export function mesosHealthCheck(
  app: { healthChecks: Parameters<typeof healthCheckSpecs>[0]['healthChecks'] },
  hostPorts: readonly number[],
): agora.v1.HealthCheck.$Properties | undefined {
  const spec = healthCheckSpecs(app).find((s) => !isMarathonSide(s));
  return spec === undefined ? undefined : mesosHealthCheckFor(spec, hostPorts);
}

export function mesosHealthCheckFor(
  spec: HealthCheckSpec,
  hostPorts: readonly number[],
): agora.v1.HealthCheck.$Properties | undefined {
  const common: agora.v1.HealthCheck.$Properties = {
    delay_seconds: spec.delaySeconds,
    interval_seconds: spec.intervalSeconds,
    timeout_seconds: spec.timeoutSeconds,
    consecutive_failures: spec.maxConsecutiveFailures,
    grace_period_seconds: spec.gracePeriodSeconds,
  };
  if (spec.protocol === 'COMMAND') {
    if (spec.command === undefined) return undefined;
    return { ...common, type: Type.COMMAND, command: { value: spec.command, shell: true } };
  }
  const port = checkPort(spec, hostPorts);
  if (port === undefined) return undefined;
  if (spec.protocol === 'MESOS_TCP') return { ...common, type: Type.TCP, tcp: { port } };
  return {
    ...common,
    type: Type.HTTP,
    http: { port, path: spec.path, scheme: spec.protocol === 'MESOS_HTTPS' ? 'https' : 'http' },
  };
}
