/**
 * Generalized checks (Mesos' CheckInfo), the decision (pure: no I/O). Mesos'
 * rules (`src/checks/checker_process.cpp`, `docs/checks.md`):
 *
 * - one of COMMAND, HTTP or TCP, named by `type` (required) with its field set;
 * - the first check runs `delay` after the task starts, then one every `interval` after the previous one ended,
 *   each bounded by `timeout`;
 * - a result is the COMMAND's exit code, the HTTP status code, or whether the TCP connection opened; a check that
 *   timed out or could not run has no result (the type only);
 * - the framework hears of a result only when it differs from the last one reported; the TASK_RUNNING update
 *   carries the type only (no result yet); checks never kill the task.
 */
import { AgoraError } from '@agora/common';
import type { agora } from '@agora/proto';

type CheckInfo = agora.v1.CheckInfo.$Properties;
export type CheckStatusInfo = agora.v1.CheckStatusInfo.$Properties;

/** CheckInfo.Type's numbers (the proto's enum, kept here so this module stays free of runtime imports). */
export const CHECK_TYPE = { COMMAND: 1, HTTP: 2, TCP: 3 } as const;
export type CheckKind = 'command' | 'http' | 'tcp';

/** Mesos' CheckInfo defaults (seconds in the proto, milliseconds here). */
export const CHECK_DEFAULTS = { delayMs: 15_000, intervalMs: 10_000, timeoutMs: 20_000 } as const;

export interface CheckConfig {
  kind: CheckKind;
  delayMs: number;
  intervalMs: number;
  timeoutMs: number;
}

function seconds(value: number | null | undefined, fallbackMs: number, field: string, type: number): number {
  if (value === null || value === undefined) return fallbackMs;
  if (!Number.isFinite(value) || value < 0) throw invalid(`${field} must be a non-negative number`, type);
  return Math.round(value * 1000);
}

function invalid(why: string, type: number): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', `invalid check: ${why}`, { data: { type } });
}

function validPort(port: number | null | undefined): boolean {
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65_535;
}

/** The check's kind and timings; throws AGORA_ERR_BAD_REQUEST for an invalid check. */
export function checkConfig(check: CheckInfo): CheckConfig {
  const type = check.type ?? 0;
  let kind: CheckKind;
  if (type === CHECK_TYPE.COMMAND) {
    if (!check.command?.command?.value) throw invalid('a COMMAND check needs command.command.value', type);
    kind = 'command';
  } else if (type === CHECK_TYPE.HTTP) {
    if (!validPort(check.http?.port)) throw invalid('an HTTP check needs http.port (1-65535)', type);
    kind = 'http';
  } else if (type === CHECK_TYPE.TCP) {
    if (!validPort(check.tcp?.port)) throw invalid('a TCP check needs tcp.port (1-65535)', type);
    kind = 'tcp';
  } else {
    throw invalid('type must be COMMAND, HTTP or TCP', type);
  }
  return {
    kind,
    delayMs: seconds(check.delay_seconds, CHECK_DEFAULTS.delayMs, 'delay_seconds', type),
    intervalMs: Math.max(1, seconds(check.interval_seconds, CHECK_DEFAULTS.intervalMs, 'interval_seconds', type)),
    timeoutMs: Math.max(1, seconds(check.timeout_seconds, CHECK_DEFAULTS.timeoutMs, 'timeout_seconds', type)),
  };
}

/** The status before any result (Mesos sends it with TASK_RUNNING): the type only. */
export function emptyCheckStatus(kind: CheckKind): CheckStatusInfo {
  if (kind === 'command') return { type: CHECK_TYPE.COMMAND, command: {} };
  if (kind === 'http') return { type: CHECK_TYPE.HTTP, http: {} };
  return { type: CHECK_TYPE.TCP, tcp: {} };
}

/** One check's outcome, as the probes give it. */
export interface CheckOutcome {
  /** COMMAND: the exit code (unset: timed out, killed by a signal, could not run). */
  exitCode?: number | undefined;
  /** HTTP: the response's status code (unset: no response). */
  statusCode?: number | undefined;
  /** TCP: whether the connection opened (unset: timed out). */
  succeeded?: boolean | undefined;
}

/** The CheckStatusInfo of one outcome. */
export function checkStatusOf(kind: CheckKind, outcome: CheckOutcome): CheckStatusInfo {
  const status = emptyCheckStatus(kind);
  if (kind === 'command' && outcome.exitCode !== undefined) status.command = { exit_code: outcome.exitCode };
  if (kind === 'http' && outcome.statusCode !== undefined) status.http = { status_code: outcome.statusCode };
  if (kind === 'tcp' && outcome.succeeded !== undefined) status.tcp = { succeeded: outcome.succeeded };
  return status;
}

/** Whether two check statuses carry the same result (only a change is reported). */
export function sameCheckStatus(a: CheckStatusInfo | undefined, b: CheckStatusInfo | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    (a.type ?? 0) === (b.type ?? 0) &&
    (a.command?.exit_code ?? null) === (b.command?.exit_code ?? null) &&
    (a.http?.status_code ?? null) === (b.http?.status_code ?? null) &&
    (a.tcp?.succeeded ?? null) === (b.tcp?.succeeded ?? null)
  );
}
