/**
 * Secret values from a directory (`--secrets_dir`): the secret
 * `{"source": "db/password"}` is the content of `<dir>/db/password` (one
 * trailing newline dropped, so `echo s3cret > file` works). A source must be
 * a relative path inside the directory (no `..`, not absolute).
 *
 * Values are read at launch time, go only into the task's environment
 * (`env: {"PW": {"secret": "name"}}`, and secret volumes' variables) and are never logged, stored, returned
 * by the API or published in events; errors name the secret, never a value.
 */
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { AgoraError } from '@agora/common';
import type { AppDefinition } from '../model/app-definition.js';
import { secretVolumeEnvName, secretVolumesOf } from '../model/secret-volumes.js';

/** Where the scheduler gets the environment values of an app's secret references. */
export interface SecretSource {
  /**
   * env name → secret value for every `env` entry of `app` that references a secret, and
   * `AGORA_SECRET_VOLUME_<n>` → value for every secret volume (model/secret-volumes.ts).
   */
  environmentOf(app: AppDefinition): Promise<Record<string, string>>;
}

function secretError(app: AppDefinition, secret: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_SECRET', `secret '${secret}' of app ${app.id} ${why}`, {
    data: { appId: app.id, secret },
  });
}

export class FileSecretSource implements SecretSource {
  constructor(private readonly dir: string) {}

  async environmentOf(app: AppDefinition): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(app.env)) {
      if (typeof value === 'string') continue;
      out[name] = await this.read(app, value.secret);
    }
    for (const v of secretVolumesOf(app)) out[secretVolumeEnvName(v.index)] = await this.read(app, v.secret);
    return out;
  }

  private async read(app: AppDefinition, secret: string): Promise<string> {
    const def = app.secrets[secret];
    if (def === undefined) throw secretError(app, secret, 'is not defined in the app');
    const source = def.source;
    if (source === '' || isAbsolute(source) || source.split(/[\\/]/).includes('..')) {
      throw secretError(app, secret, `has a source outside the secrets directory ('${source}')`);
    }
    let text: string;
    try {
      const root = await realpath(this.dir);
      const file = await realpath(join(root, source));
      const rel = relative(root, file);
      if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
        throw secretError(app, secret, `has a source outside the secrets directory ('${source}')`);
      }
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (err instanceof AgoraError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
      throw secretError(app, secret, `cannot be read from source '${source}' (${code})`);
    }
    return text.endsWith('\n') ? text.slice(0, -1) : text;
  }
}

/** Without `--secrets_dir`: every secret reference fails (the app waits, the reason is logged). */
export class NoSecretSource implements SecretSource {
  async environmentOf(app: AppDefinition): Promise<Record<string, string>> {
    const ref = Object.values(app.env).find((v) => typeof v !== 'string');
    if (ref !== undefined && typeof ref !== 'string') {
      throw secretError(app, ref.secret, 'cannot be resolved: Marathon runs without --secrets_dir');
    }
    const volume = secretVolumesOf(app)[0];
    if (volume !== undefined) {
      throw secretError(app, volume.secret, 'cannot be resolved: Marathon runs without --secrets_dir');
    }
    return {};
  }
}
