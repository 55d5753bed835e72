/**
 * COMMAND health probe: runs the check's command in the task's sandbox with
 * the task's environment (plus the check's own); exit 0 is healthy. With
 * `enter` (the task's container) it runs inside the container: in the task's
 * cgroups and pid namespace. A command still running at the timeout is killed
 * with its whole process group.
 */
import { spawn } from 'node:child_process';
import { type agora, isShellCommand } from '@agora/proto';
import type { Probe, ProbeResult } from './probe.js';

export interface CommandProbeOptions {
  command: agora.v1.CommandInfo.$Properties;
  cwd: string;
  env: Record<string, string>;
  /** Wraps the command so it runs inside the task's container (`Container.enter`); undefined = the container ended. */
  enter?: EnterContainer | undefined;
}

export type EnterContainer = (file: string, args: readonly string[]) => { file: string; args: string[] } | undefined;

export function commandProbe(options: CommandProbeOptions): Probe {
  const { command } = options;
  const env = { ...options.env };
  for (const v of command.environment?.variables ?? [])
    if (v.value !== null && v.value !== undefined) env[v.name] = v.value;
  const shell = isShellCommand(command);
  const file = shell ? '/bin/sh' : (command.value ?? '');
  const args = shell ? ['-c', command.value ?? ''] : (command.arguments ?? []).slice(1);
  const shown = shell ? (command.value ?? '') : [file, ...args].join(' ');
  return (timeoutMs) =>
    new Promise<ProbeResult>((resolve) => {
      let done = false;
      const target = options.enter === undefined ? { file, args } : options.enter(file, args);
      if (target === undefined) {
        resolve({ ok: false, message: `command '${shown}' not run: the task's container has ended` });
        return;
      }
      const child = spawn(target.file, target.args, { cwd: options.cwd, env, detached: true, stdio: 'ignore' });
      const killGroup = () => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const finish = (result: ProbeResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(result);
      };
      const timer = setTimeout(() => {
        killGroup();
        finish({ ok: false, message: `command '${shown}' timed out after ${timeoutMs} ms` });
      }, timeoutMs);
      child.once('error', (err) =>
        finish({ ok: false, message: `command '${shown}' failed to start: ${err.message}` }),
      );
      child.once('exit', (code, signal) => {
        killGroup(); // anything the check left behind
        if (code === 0) finish({ ok: true, message: `command '${shown}' exited with status 0`, exitCode: 0 });
        else
          finish({
            ok: false,
            message: `command '${shown}' ${signal ? `terminated with signal ${signal}` : `exited with status ${code}`}`,
            ...(code === null ? {} : { exitCode: code }),
          });
      });
    });
}
