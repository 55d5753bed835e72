/** The retry loop shared by the ZooKeeper and Redis launchers. */
import { freePort } from './ports.js';
import { removeTempDir, tempDir } from './temp.js';

/** A server instance that a launcher can start, stop and ask whether its port was taken. */
export interface LaunchableServer {
  launch(): Promise<void>;
  halt(): Promise<void>;
  portWasTaken(): Promise<boolean>;
}

/**
 * Start a server in a fresh temp dir on `fixedPort`, or on a free port with up to
 * three tries when another process takes the port first. The temp dir is removed
 * if the server never starts.
 */
export async function launchInTempDir<S extends LaunchableServer>(
  prefix: string,
  fixedPort: number | undefined,
  create: (dir: string, port: number) => S,
): Promise<S> {
  const dir = await tempDir(prefix);
  try {
    for (let attempt = 1; ; attempt++) {
      const port = fixedPort ?? (await freePort());
      const server = create(dir, port);
      try {
        await server.launch();
        return server;
      } catch (err) {
        await server.halt();
        const retry = fixedPort === undefined && attempt < 3 && (await server.portWasTaken());
        if (!retry) throw err;
      }
    }
  } catch (err) {
    await removeTempDir(dir);
    throw err;
  }
}
