/** What every long-running command returns: something to stop, once. */
export interface Running {
  /** Human-readable lines printed once everything listens. */
  readonly banner: string[];
  close(): Promise<void>;
}

/**
 * Keep a daemon running until SIGINT/SIGTERM, then close it (bounded) and exit.
 * A second signal exits at once.
 */
export function runUntilSignalled(running: Running, log: (line: string) => void): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: stopping…`);
    const deadline = setTimeout(() => {
      log('did not stop within 20 s: exiting');
      process.exit(1);
    }, 20_000);
    deadline.unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`error while stopping: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
