/**
 * Readiness checks: the app's `readinessChecks` JSON with Marathon's
 * defaults, the port a check addresses (`portName` names a port definition),
 * and what one answer means. PURE.
 */
import type { JsonObject, PortDefinition } from '../model/app-definition.js';

export interface ReadinessCheckSpec {
  name: string;
  protocol: 'HTTP' | 'HTTPS';
  path: string;
  portName: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  httpStatusCodesForReady: number[];
  preserveLastResponse: boolean;
}

export const READINESS_DEFAULTS = {
  name: 'readinessCheck',
  protocol: 'HTTP' as const,
  path: '/',
  portName: 'http-api',
  intervalSeconds: 30,
  timeoutSeconds: 10,
  httpStatusCodesForReady: [200],
  preserveLastResponse: false,
};

export function readinessCheckSpec(json: JsonObject): ReadinessCheckSpec {
  const d = READINESS_DEFAULTS;
  const str = (k: string, f: string): string =>
    typeof json[k] === 'string' && json[k] !== '' ? (json[k] as string) : f;
  const num = (k: string, f: number): number => (typeof json[k] === 'number' ? (json[k] as number) : f);
  const codes = Array.isArray(json['httpStatusCodesForReady'])
    ? json['httpStatusCodesForReady'].filter((c): c is number => typeof c === 'number')
    : d.httpStatusCodesForReady;
  return {
    name: str('name', d.name),
    protocol: json['protocol'] === 'HTTPS' ? 'HTTPS' : 'HTTP',
    path: str('path', d.path),
    portName: str('portName', d.portName),
    intervalSeconds: num('intervalSeconds', d.intervalSeconds),
    timeoutSeconds: num('timeoutSeconds', d.timeoutSeconds),
    httpStatusCodesForReady: codes.length > 0 ? codes : d.httpStatusCodesForReady,
    preserveLastResponse: json['preserveLastResponse'] === true,
  };
}

export function readinessCheckSpecs(app: { readinessChecks: readonly JsonObject[] }): ReadinessCheckSpec[] {
  return app.readinessChecks.map(readinessCheckSpec);
}

/** The task's host port for the check's `portName`; undefined when no port definition has that name. */
export function readinessPort(
  spec: Pick<ReadinessCheckSpec, 'portName'>,
  portDefinitions: readonly Pick<PortDefinition, 'name'>[],
  hostPorts: readonly number[],
): number | undefined {
  const index = portDefinitions.findIndex((p) => p.name === spec.portName);
  return index < 0 ? undefined : hostPorts[index];
}

export function isReadyStatus(spec: Pick<ReadinessCheckSpec, 'httpStatusCodesForReady'>, status: number): boolean {
  return spec.httpStatusCodesForReady.includes(status);
}

/** One entry of `readinessCheckResults`. */
export interface ReadinessResult {
  name: string;
  taskId: string;
  ready: boolean;
  lastResponse?: { status: number; contentType: string; body: string };
}
