/**
 * Confinement for the `/files/*` endpoints: a requested path is served only
 * when its real path (symlinks resolved) lies inside the sandbox it names,
 * i.e. at or below `<work_dir>/agents/<a>/frameworks/<f>/executors/<e>/runs/<run>`
 * (`<run>` may be the `latest` symlink). `..` segments, absolute paths
 * elsewhere and symlinks that leave the sandbox are refused (403); a path
 * that does not exist is 404.
 */
import { realpathSync, type Stats, statSync } from 'node:fs';
import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';

export class FilesError extends Error {
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

/** A path that passed confinement: its real path and its stats. */
export interface ConfinedPath {
  real: string;
  stats: Stats;
}

/** Segments below `agents/`: <a> frameworks <f> executors <e> runs <run>. */
const SANDBOX_DEPTH = 7;

/**
 * The real path of `requested` if it is inside a sandbox under `workDir`.
 * Throws FilesError 400 (missing path), 403 (outside a sandbox) or 404 (not found).
 */
export function confineToSandbox(workDir: string, requested: string | undefined): ConfinedPath {
  if (requested === undefined || requested === '') throw new FilesError(400, "Missing 'path' query parameter");
  if (requested.includes('\0')) throw new FilesError(400, "The 'path' query parameter contains a NUL byte");
  if (!isAbsolute(requested)) throw new FilesError(403, `'${requested}' is not an absolute path inside a sandbox`);
  if (requested.split('/').includes('..')) {
    throw new FilesError(403, `'${requested}' contains '..': only paths inside a sandbox are served`);
  }
  const lexical = normalize(requested);
  const roots = [resolve(workDir, 'agents')];
  const realRoot = safeRealpath(roots[0] as string);
  if (realRoot !== undefined && realRoot !== roots[0]) roots.push(realRoot);
  // Decide on the lexical path first: files outside the sandboxes are refused, never probed.
  let sandbox: string | undefined;
  for (const root of roots) {
    const parts = segmentsBelow(root, lexical);
    if (parts !== undefined && isSandboxPath(parts)) sandbox = resolve(root, ...parts.slice(0, SANDBOX_DEPTH));
  }
  if (sandbox === undefined || realRoot === undefined) {
    throw new FilesError(403, `'${requested}' is outside the agent's sandboxes`);
  }
  const realSandbox = safeRealpath(sandbox);
  const real = safeRealpath(lexical);
  if (realSandbox === undefined || real === undefined) throw new FilesError(404, `'${requested}' does not exist`);
  const sandboxParts = segmentsBelow(realRoot, realSandbox);
  if (sandboxParts === undefined || sandboxParts.length !== SANDBOX_DEPTH || !isSandboxPath(sandboxParts)) {
    throw new FilesError(403, `'${requested}' is not in a sandbox (its run directory resolves to '${realSandbox}')`);
  }
  if (real !== realSandbox && !real.startsWith(realSandbox + sep)) {
    throw new FilesError(403, `'${requested}' leads outside its sandbox (a symlink to '${real}')`);
  }
  return { real, stats: statSync(real) };
}

function safeRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function segmentsBelow(root: string, path: string): string[] | undefined {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return rel.split(sep);
}

function isSandboxPath(parts: string[]): boolean {
  return parts.length >= SANDBOX_DEPTH && parts[1] === 'frameworks' && parts[3] === 'executors' && parts[5] === 'runs';
}
