import { type AgoraError, createLogger, hasErrorCode } from '@agora/common';
import { createMarathon, type Marathon } from '@agora/marathon';
import { badFlag, parseMasterFlag, parsePort, parsePositiveInt, parseRedisFlag, parseZkFlag } from '../flags.js';
import type { Running } from './daemon.js';

export interface MarathonFlags {
  master?: string;
  http_port?: string;
  port?: string;
  hostname?: string;
  ip?: string;
  redis?: string;
  zk?: string;
  state_dir?: string;
  framework_name?: string;
  mesos_role?: string;
  http_endpoints?: string;
  event_subscriber_queue_size?: string;
  event_stream_max_outstanding_messages?: string;
  event_log_size?: string;
  zk_session_timeout?: string;
  enable_features?: string;
  secrets_dir?: string;
}

/** The flag that sets each Marathon option, so a bad value's error names the flag (not the option). */
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  master: 'master',
  port: 'http_port',
  redis: 'redis',
  role: 'mesos_role',
  zkSessionTimeoutMs: 'zk_session_timeout',
  enableFeatures: 'enable_features',
  secretsDir: 'secrets_dir',
  httpEndpoints: 'http_endpoints',
  'events.subscriberQueueSize': 'event_subscriber_queue_size',
  'events.eventLogSize': 'event_log_size',
  'events.streamMaxOutstandingMessages': 'event_stream_max_outstanding_messages',
};

/** An AGORA_ERR_BAD_FLAG about a Marathon option a flag sets, reworded to name that flag. */
function namingTheFlag(err: unknown): unknown {
  if (!hasErrorCode(err, 'AGORA_ERR_BAD_FLAG')) return err;
  const option = (err as AgoraError).data.flag;
  const flag = typeof option === 'string' ? FLAG_OF_OPTION[option] : undefined;
  if (flag === undefined) return err;
  return badFlag(flag, (err as AgoraError).message.replace(`marathon option '${option}' `, ''), err);
}

/** `agora marathon`: the Marathon-compatible framework (state in Redis, or files with --state_dir). */
export async function runMarathon(flags: MarathonFlags): Promise<Running> {
  const redis = parseRedisFlag('redis', flags.redis);
  const zk = parseZkFlag('zk', flags.zk);
  const port =
    flags.http_port !== undefined ? parsePort('http_port', flags.http_port, 8080) : parsePort('port', flags.port, 8080);
  if (flags.framework_name?.trim() === '') throw badFlag('framework_name', 'must not be empty');
  let marathon: Marathon;
  try {
    marathon = createMarathon(
      {
        master: parseMasterFlag('master', flags.master),
        port,
        host: flags.ip ?? '127.0.0.1',
        ...(flags.hostname === undefined ? {} : { hostname: flags.hostname }),
        ...(redis === undefined ? { stateDir: flags.state_dir ?? './.agora/marathon' } : { redis }),
        ...(zk === undefined ? {} : { zk }),
        ...(flags.framework_name === undefined ? {} : { frameworkName: flags.framework_name }),
        ...(flags.mesos_role === undefined ? {} : { role: flags.mesos_role }),
        ...(flags.http_endpoints === undefined
          ? {}
          : {
              httpEndpoints: flags.http_endpoints
                .split(',')
                .map((u) => u.trim())
                .filter((u) => u !== ''),
            }),
        zkSessionTimeoutMs: parsePositiveInt('zk_session_timeout', flags.zk_session_timeout, 10_000),
        ...(flags.enable_features === undefined
          ? {}
          : {
              enableFeatures: flags.enable_features
                .split(',')
                .map((f) => f.trim())
                .filter((f) => f !== ''),
            }),
        ...(flags.secrets_dir === undefined ? {} : { secretsDir: flags.secrets_dir }),
        events: {
          subscriberQueueSize: parsePositiveInt(
            'event_subscriber_queue_size',
            flags.event_subscriber_queue_size,
            10_000,
          ),
          eventLogSize: parsePositiveInt('event_log_size', flags.event_log_size, 100_000),
          streamMaxOutstandingMessages: parsePositiveInt(
            'event_stream_max_outstanding_messages',
            flags.event_stream_max_outstanding_messages,
            1024,
          ),
        },
      },
      { logger: createLogger({ component: 'marathon' }) },
    );
  } catch (err) {
    throw namingTheFlag(err);
  }
  await marathon.start();
  // HA: a Marathon that lost (or gave up) the leadership stops; exit so a supervisor starts it again as a standby.
  marathon.onDidStop((why) => {
    process.stderr.write(`marathon stopped: ${why}\n`);
    process.exit(3);
  });
  return {
    banner: [`marathon listening on ${marathon.url} (state in ${redis ?? flags.state_dir ?? './.agora/marathon'})`],
    close: () => marathon.close(),
  };
}
