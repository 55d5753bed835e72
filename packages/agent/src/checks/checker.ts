/**
 * Runs a task's generalized check (CheckInfo): the probe of its kind (COMMAND
 * inside the task's container, HTTP GET, TCP connect — the health probes'),
 * scheduled on the clock (`delay`, then every `interval` after the previous
 * one ended, each bounded by `timeout`); each result that differs from the
 * last one reported goes to the hooks. Never kills the task.
 */
import type { Clock, Disposable, Logger } from '@agora/common';
import { silentLogger } from '@agora/common';
import type { agora } from '@agora/proto';
import { commandProbe, type EnterContainer } from '../health/command.js';
import { httpProbe } from '../health/http.js';
import type { Probe, ProbeResult } from '../health/probe.js';
import { ProbeLoop } from '../health/probe-loop.js';
import { tcpProbe } from '../health/tcp.js';
import { type CheckConfig, type CheckStatusInfo, checkConfig, checkStatusOf, sameCheckStatus } from './policy.js';

export interface CheckHooks {
  /** A new result: tell the framework (TASK_RUNNING with `check_status`). */
  onCheckStatus(status: CheckStatusInfo, message: string): void;
}

export interface CheckContext {
  /** The task's sandbox (cwd of COMMAND checks). */
  sandbox: string;
  /** The task's environment (COMMAND checks). */
  env: Record<string, string>;
  /** Runs COMMAND checks inside the task's container. */
  enter?: EnterContainer | undefined;
  /** Where HTTP/TCP checks connect. @default '127.0.0.1' */
  host?: string;
}

function probeOf(check: agora.v1.CheckInfo.$Properties, config: CheckConfig, ctx: CheckContext): Probe {
  const host = ctx.host ?? '127.0.0.1';
  if (config.kind === 'command') {
    return commandProbe({ command: check.command?.command ?? {}, cwd: ctx.sandbox, env: ctx.env, enter: ctx.enter });
  }
  if (config.kind === 'http') {
    const path = check.http?.path;
    return httpProbe({ port: check.http?.port ?? 0, host, ...(path ? { path } : {}) });
  }
  return tcpProbe({ port: check.tcp?.port ?? 0, host });
}

export class TaskChecker implements Disposable {
  private readonly loop: ProbeLoop;
  private readonly logger: Logger;

  private constructor(
    private readonly config: CheckConfig,
    probe: Probe,
    clock: Clock,
    private readonly hooks: CheckHooks,
    /** The last status the framework heard of (the empty one sent with TASK_RUNNING, or none after recovery). */
    private last: CheckStatusInfo | undefined,
    logger: Logger | undefined,
  ) {
    this.logger = logger ?? silentLogger();
    this.loop = new ProbeLoop(probe, clock, config, (result) => this.onResult(result));
  }

  /** Start checking now (the first check after `delay`). Throws AGORA_ERR_BAD_REQUEST for an invalid check. */
  static start(
    check: agora.v1.CheckInfo.$Properties,
    ctx: CheckContext,
    clock: Clock,
    hooks: CheckHooks,
    options: { last?: CheckStatusInfo | undefined; logger?: Logger } = {},
  ): TaskChecker {
    const config = checkConfig(check);
    const checker = new TaskChecker(config, probeOf(check, config, ctx), clock, hooks, options.last, options.logger);
    checker.loop.start(config.delayMs);
    return checker;
  }

  /** Checks run so far. */
  get runs(): number {
    return this.loop.runs;
  }

  dispose(): void {
    this.loop.dispose();
  }

  private onResult(result: ProbeResult): void {
    const status = checkStatusOf(this.config.kind, {
      exitCode: result.exitCode,
      statusCode: result.statusCode,
      succeeded: this.config.kind === 'tcp' && result.timedOut !== true ? result.ok : undefined,
    });
    this.logger.debug({ message: result.message, status }, 'check');
    if (!sameCheckStatus(status, this.last)) {
      this.last = status;
      this.hooks.onCheckStatus(status, result.message);
    }
  }
}
