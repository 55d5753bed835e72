/**
 * Secret volumes (`container.volumes[]` with `secret`, Marathon 1.5+): the
 * value of the named secret is written into a file at `containerPath` (a
 * path relative to the task's sandbox) before the command runs. PURE.
 *
 * Delivery: the value travels in the TaskInfo's environment as
 * `AGORA_SECRET_VOLUME_<n>` (like secret env references) and a fixed shell
 * prefix writes it into the file (mode 0600) and unsets the variable; the
 * value never appears in the command string. `args` apps are run as
 * `exec '<arg0>' '<arg1>' …` after that prefix.
 */
import type { CommandInfo } from '@agora/proto';
import type { AppSpec } from './app-definition.js';
import { isObject } from './app-reads.js';

export interface SecretVolume {
  /** Index in `container.volumes`. */
  index: number;
  containerPath: string;
  secret: string;
}

export function secretVolumesOf(app: AppSpec): SecretVolume[] {
  const volumes = app.container?.['volumes'];
  if (!Array.isArray(volumes)) return [];
  const out: SecretVolume[] = [];
  volumes.forEach((v, index) => {
    if (!isObject(v) || typeof v['secret'] !== 'string' || typeof v['containerPath'] !== 'string') return;
    out.push({ index, containerPath: v['containerPath'], secret: v['secret'] });
  });
  return out;
}

/** Whether launching the app needs its secrets read: a secret reference in `env`, or a secret volume. */
export function hasSecretReferences(app: AppSpec): boolean {
  return Object.values(app.env).some((v) => typeof v !== 'string') || secretVolumesOf(app).length > 0;
}

/** The environment variable carrying a secret volume's value to the task. */
export function secretVolumeEnvName(index: number): string {
  return `AGORA_SECRET_VOLUME_${index}`;
}

/** Why a secret volume's containerPath cannot be used (undefined: it can): relative, inside the sandbox. */
export function secretPathError(containerPath: string): string | undefined {
  if (containerPath === '') return 'must not be empty';
  if (containerPath.startsWith('/')) return 'must be a relative path (a file in the task sandbox)';
  const parts = containerPath.split('/');
  if (parts.some((p) => p === '..')) return 'must not contain ".." (a file in the task sandbox)';
  if (parts[parts.length - 1] === '' || parts[parts.length - 1] === '.') return 'must name a file';
  return undefined;
}

/** Single-quote for /bin/sh. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command with the secret files written first: one line that creates
 * each file (umask 077, parent directories made) from its variable, exits
 * with 97 if that fails, and unsets the variables; then the app's command.
 */
export function withSecretFiles(command: CommandInfo, volumes: readonly SecretVolume[]): CommandInfo {
  if (volumes.length === 0) return command;
  const writes = volumes.map((v) => {
    const path = shellQuote(v.containerPath);
    const dir = v.containerPath.includes('/')
      ? `mkdir -p -- ${shellQuote(v.containerPath.replace(/\/[^/]*$/, ''))} && `
      : '';
    return `${dir}printf '%s' "$${secretVolumeEnvName(v.index)}" > ${path}`;
  });
  const names = volumes.map((v) => secretVolumeEnvName(v.index)).join(' ');
  const prefix = `(umask 077 && ${writes.join(' && ')}) || exit 97; unset ${names}`;
  const program =
    command.shell === false
      ? `exec ${(command.arguments ?? [command.value ?? '']).map(shellQuote).join(' ')}`
      : (command.value ?? '');
  const { arguments: _args, ...rest } = command;
  return { ...rest, shell: true, value: `${prefix}\n${program}` };
}
