import { createLogger } from '@agora/common';
import { createAgent } from '@agora/agent';
import { badFlag, parseAttributesFlag, parseMasterFlag, parsePort, parseResourcesFlag } from '../flags.js';
import type { Running } from './daemon.js';

export interface AgentFlags {
  master?: string;
  port?: string;
  ip?: string;
  hostname?: string;
  work_dir?: string;
  resources?: string;
  attributes?: string;
}

/** `agora agent`: registers with the leading master and runs its tasks. */
export async function runAgent(flags: AgentFlags): Promise<Running> {
  if (flags.work_dir === undefined)
    throw badFlag('work_dir', 'is required: the directory for sandboxes and agent state');
  const resources = parseResourcesFlag('resources', flags.resources);
  const attributes = parseAttributesFlag('attributes', flags.attributes);
  const agent = createAgent(
    {
      master: parseMasterFlag('master', flags.master),
      port: parsePort('port', flags.port, 5051),
      host: flags.ip ?? '127.0.0.1',
      workDir: flags.work_dir,
      ...(flags.hostname === undefined ? {} : { hostname: flags.hostname }),
      ...(resources === undefined ? {} : { resources }),
      ...(attributes === undefined ? {} : { attributes }),
    },
    { logger: createLogger({ component: 'agent' }) },
  );
  await agent.start();
  return {
    banner: [`agent listening on ${agent.url}, master ${flags.master}`],
    close: () => agent.close({ killTasks: false }),
  };
}
