/**
 * Runs a task's HealthCheck: picks the probe (HTTP, HTTPS via `http.scheme`,
 * TCP, COMMAND), schedules it on the clock (`delay`, then every `interval`
 * after the previous probe ends, each bounded by `timeout`), and feeds the
 * results through the pure policy; the hooks hear of health changes and of the
 * decision to kill.
 */
import { AgoraError, type Clock, type Disposable, type Logger, silentLogger } from '@agora/common';
import { agora } from '@agora/proto';
import { commandProbe, type EnterContainer } from './command.js';
import { httpProbe } from './http.js';
import { httpsProbe } from './https.js';
import {
  decideHealth,
  type HealthPolicyConfig,
  type HealthState,
  healthPolicyConfig,
  initialHealthState,
} from './policy.js';
import type { Probe, ProbeResult } from './probe.js';
import { ProbeLoop } from './probe-loop.js';
import { tcpProbe } from './tcp.js';

type HealthCheck = agora.v1.HealthCheck.$Properties;
const Type = agora.v1.HealthCheck.Type;

export interface HealthHooks {
  /** Health changed: tell the framework (TASK_RUNNING with `healthy`). */
  onHealthChange(healthy: boolean, message: string): void;
  /** The policy says kill (after `consecutive_failures`). */
  onKill(message: string): void;
}

export interface HealthProbeContext {
  /** The task's sandbox (cwd of COMMAND checks). */
  sandbox: string;
  /** The task's environment (COMMAND checks). */
  env: Record<string, string>;
  /** Where HTTP/TCP checks connect. @default '127.0.0.1' */
  host?: string;
  /** Runs COMMAND checks inside the task's container (its cgroups and pid namespace). */
  enter?: EnterContainer | undefined;
}

/** The check's kind: `type`, else inferred from the one of http/tcp/command that is set. */
export function healthCheckKind(check: HealthCheck): 'http' | 'https' | 'tcp' | 'command' {
  let type = check.type ?? Type.UNKNOWN;
  if (type === Type.UNKNOWN) {
    if (check.http) type = Type.HTTP;
    else if (check.tcp) type = Type.TCP;
    else if (check.command) type = Type.COMMAND;
  }
  const bad = (why: string) =>
    new AgoraError('AGORA_ERR_BAD_REQUEST', `invalid health check: ${why}`, { data: { type } });
  switch (type) {
    case Type.HTTP: {
      if (!check.http || !Number.isInteger(check.http.port) || check.http.port <= 0 || check.http.port > 65_535)
        throw bad('an HTTP check needs http.port (1-65535)');
      const scheme = (check.http.scheme ?? 'http').toLowerCase();
      if (scheme !== 'http' && scheme !== 'https') throw bad(`http.scheme '${scheme}' is not http or https`);
      return scheme;
    }
    case Type.TCP:
      if (!check.tcp || !Number.isInteger(check.tcp.port) || check.tcp.port <= 0 || check.tcp.port > 65_535)
        throw bad('a TCP check needs tcp.port (1-65535)');
      return 'tcp';
    case Type.COMMAND:
      if (!check.command?.value) throw bad('a COMMAND check needs command.value');
      return 'command';
    default:
      throw bad('set type and one of http, tcp or command');
  }
}

/** The probe for a check. Throws AGORA_ERR_BAD_REQUEST for an invalid check. */
export function probeFor(check: HealthCheck, ctx: HealthProbeContext): Probe {
  const kind = healthCheckKind(check);
  const host = ctx.host ?? '127.0.0.1';
  if (kind === 'tcp') return tcpProbe({ port: check.tcp?.port ?? 0, host });
  if (kind === 'command') {
    return commandProbe({ command: check.command ?? {}, cwd: ctx.sandbox, env: ctx.env, enter: ctx.enter });
  }
  const options = { port: check.http?.port ?? 0, host, statuses: check.http?.statuses ?? [] };
  const withPath = check.http?.path ? { ...options, path: check.http.path } : options;
  return kind === 'https' ? httpsProbe(withPath) : httpProbe(withPath);
}

export class HealthChecker implements Disposable {
  private state: HealthState;
  private readonly loop: ProbeLoop;
  private readonly logger: Logger;

  constructor(
    private readonly config: HealthPolicyConfig,
    probe: Probe,
    private readonly clock: Clock,
    private readonly hooks: HealthHooks,
    logger?: Logger,
  ) {
    this.logger = logger ?? silentLogger();
    this.state = initialHealthState(clock.now());
    this.loop = new ProbeLoop(probe, clock, config, (result) => this.onResult(result));
  }

  /** Check `check` for a task; starts at once (the first probe after `delay`). */
  static start(
    check: HealthCheck,
    ctx: HealthProbeContext,
    clock: Clock,
    hooks: HealthHooks,
    logger?: Logger,
  ): HealthChecker {
    const checker = new HealthChecker(healthPolicyConfig(check), probeFor(check, ctx), clock, hooks, logger);
    checker.begin();
    return checker;
  }

  /** Start checking: the first probe after `delay` (the grace period counts from now). */
  begin(): void {
    if (this.loop.started) return;
    this.state = initialHealthState(this.clock.now());
    this.loop.start(this.config.delayMs);
  }

  /** Probes run so far. */
  get probes(): number {
    return this.loop.runs;
  }

  get healthy(): boolean | undefined {
    return this.state.healthy;
  }

  dispose(): void {
    this.loop.dispose();
  }

  private onResult(result: ProbeResult): void {
    const decision = decideHealth(this.config, this.state, result.ok, this.clock.now());
    this.state = decision.state;
    this.logger.debug(
      { ok: result.ok, message: result.message, failures: this.state.consecutiveFailures },
      'health probe',
    );
    if (decision.report) this.hooks.onHealthChange(result.ok, result.message);
    if (decision.kill) {
      // Disposed before the hook hears of it: no further probe is scheduled.
      this.dispose();
      this.hooks.onKill(
        `Task killed after ${this.state.consecutiveFailures} consecutive failed health checks: ${result.message}`,
      );
    }
  }
}
