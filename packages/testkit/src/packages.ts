/**
 * The Debian packages the launchers run. When one is missing: as root, install
 * it with apt-get; otherwise fail loudly, naming the package to install.
 */
import { spawnSync } from 'node:child_process';
import { AgoraError } from '@agora/common';

const installedThisRun = new Set<string>();

/**
 * Make sure a Debian package is present, judged by `present()` (e.g. a file
 * exists). Installs it with `apt-get install -y` when running as root, else
 * throws AGORA_ERR_MISSING_PACKAGE.
 */
export function ensureDebianPackage(pkg: string, present: () => boolean, purpose: string): void {
  if (present()) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || installedThisRun.has(pkg)) {
    throw new AgoraError(
      'AGORA_ERR_MISSING_PACKAGE',
      `${purpose} needs the Debian package '${pkg}', which is not installed; install it with: sudo apt-get install -y ${pkg}`,
      { data: { package: pkg } },
    );
  }
  installedThisRun.add(pkg);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
    timeout: 600_000,
  });
  if (install.status !== 0 || !present()) {
    throw new AgoraError(
      'AGORA_ERR_MISSING_PACKAGE',
      `${purpose} needs the Debian package '${pkg}'; 'apt-get install -y ${pkg}' failed ` +
        `(update exit ${update.status}, install exit ${install.status}): ${String(install.stderr ?? '')
          .trim()
          .slice(-500)}`,
      { data: { package: pkg } },
    );
  }
}
