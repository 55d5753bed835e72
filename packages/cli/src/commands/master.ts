import { createLogger } from '@agora/common';
import { createMaster } from '@agora/master';
import { parseDuration, parsePort, parseZkFlag } from '../flags.js';
import type { Running } from './daemon.js';

export interface MasterFlags {
  port?: string;
  ip?: string;
  hostname?: string;
  zk?: string;
  work_dir?: string;
  allocation_interval?: string;
}

/** `agora master`: one master; with --zk it contends for leadership, else it leads alone. */
export async function runMaster(flags: MasterFlags, onFatal: (reason: string) => void): Promise<Running> {
  const logger = createLogger({ component: 'master' });
  const master = createMaster(
    {
      port: parsePort('port', flags.port, 5050),
      host: flags.ip ?? '127.0.0.1',
      ...(flags.hostname === undefined ? {} : { hostname: flags.hostname }),
      ...(flags.zk === undefined ? {} : { zk: parseZkFlag('zk', flags.zk) as string }),
      ...(flags.work_dir === undefined ? {} : { workDir: flags.work_dir }),
      allocationIntervalMs: parseDuration('allocation_interval', flags.allocation_interval, 1000),
    },
    { logger },
  );
  master.onDidLoseLeadership(() => onFatal('lost leadership; exiting so a supervisor restarts this master'));
  await master.start();
  return {
    banner: [
      `master listening on ${master.url}${flags.zk === undefined ? ' (standalone leader)' : ` (contending in ${flags.zk})`}`,
    ],
    close: () => master.close(),
  };
}
