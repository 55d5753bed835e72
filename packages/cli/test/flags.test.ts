import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  machineSlices,
  parseBytes,
  parseDuration,
  parseMasterFlag,
  parsePort,
  parseResourcesFlag,
  parseTimerDuration,
  parseZkFlag,
} from '../src/index.js';
import { type MarathonFlags, runMarathon } from '../src/commands/marathon.js';
import { runMaster } from '../src/commands/master.js';

const flags = suite('cli flags - bad values stop the program with a message naming the flag');

function throwsFlag(fn: () => unknown, flag: string): void {
  try {
    fn();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'AGORA_ERR_BAD_FLAG');
    assert.ok((err as Error).message.startsWith(`--${flag}:`), (err as Error).message);
    return;
  }
  assert.unreachable(`--${flag} was accepted`);
}

/** The daemon must not start: its start fails with a message naming the flag. */
async function rejectsFlag(start: () => Promise<{ close(): Promise<void> }>, flag: string): Promise<void> {
  let running: { close(): Promise<void> } | undefined;
  try {
    running = await start();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'AGORA_ERR_BAD_FLAG');
    assert.ok((err as Error).message.startsWith(`--${flag}:`), (err as Error).message);
    return;
  }
  await running.close();
  assert.unreachable(`--${flag} was accepted`);
}

flags('ports', () => {
  assert.is(parsePort('port', undefined, 5050), 5050);
  assert.is(parsePort('port', '0', 5050), 0);
  assert.is(parsePort('port', '65535', 1), 65535);
  throwsFlag(() => parsePort('port', '65536', 1), 'port');
  throwsFlag(() => parsePort('port', 'http', 1), 'port');
  throwsFlag(() => parsePort('port', '-1', 1), 'port');
});

flags('Mesos durations', () => {
  assert.is(parseDuration('allocation_interval', '1secs', 0), 1000);
  assert.is(parseDuration('allocation_interval', '500ms', 0), 500);
  assert.is(parseDuration('allocation_interval', '2mins', 0), 120_000);
  assert.is(parseDuration('allocation_interval', undefined, 7), 7);
  throwsFlag(() => parseDuration('allocation_interval', '1s', 0), 'allocation_interval');
  throwsFlag(() => parseDuration('allocation_interval', 'soon', 0), 'allocation_interval');
});

flags('a duration that drives a timer fits a Node timer (a longer one would fire after 1 ms)', async () => {
  assert.is(parseTimerDuration('disk_watch_interval', '24days', 0), 24 * 86_400_000);
  assert.is(parseTimerDuration('disk_watch_interval', undefined, 7), 7);
  throwsFlag(() => parseTimerDuration('disk_watch_interval', '4weeks', 0), 'disk_watch_interval');
  await rejectsFlag(() => runMaster({ port: '0', allocation_interval: '4weeks' }, () => {}), 'allocation_interval');
});

flags('marathon: a bad value of a flag Marathon checks names the flag, not the option', async () => {
  const base: MarathonFlags = { master: '127.0.0.1:1', state_dir: '/nonexistent/agora-cli-test' };
  await rejectsFlag(() => runMarathon({ ...base, http_endpoints: 'ftp://x' }), 'http_endpoints');
  await rejectsFlag(() => runMarathon({ ...base, enable_features: 'bogus' }), 'enable_features');
  await rejectsFlag(() => runMarathon({ ...base, framework_name: '' }), 'framework_name');
  await rejectsFlag(() => runMarathon({ ...base, secrets_dir: '' }), 'secrets_dir');
});

flags('Mesos byte sizes', () => {
  assert.is(parseBytes('fetcher_cache_size', '2GB', 0), 2 * 1024 ** 3);
  assert.is(parseBytes('fetcher_cache_size', '512MB', 0), 512 * 1024 ** 2);
  assert.is(parseBytes('fetcher_cache_size', '100B', 0), 100);
  assert.is(parseBytes('fetcher_cache_size', undefined, 7), 7);
  throwsFlag(() => parseBytes('fetcher_cache_size', '0MB', 0), 'fetcher_cache_size');
  throwsFlag(() => parseBytes('fetcher_cache_size', '2G', 0), 'fetcher_cache_size');
  throwsFlag(() => parseBytes('fetcher_cache_size', 'lots', 0), 'fetcher_cache_size');
});

flags('masters and zk urls', () => {
  assert.is(parseMasterFlag('master', '127.0.0.1:5050'), '127.0.0.1:5050');
  assert.is(parseMasterFlag('master', 'http://localhost:5050'), 'http://localhost:5050');
  assert.is(parseMasterFlag('master', 'zk://127.0.0.1:2181/agora'), 'zk://127.0.0.1:2181/agora');
  throwsFlag(() => parseMasterFlag('master', undefined), 'master');
  throwsFlag(() => parseMasterFlag('master', 'localhost'), 'master');
  throwsFlag(() => parseMasterFlag('master', 'localhost:99999'), 'master');
  throwsFlag(() => parseZkFlag('zk', 'http://127.0.0.1:2181/agora'), 'zk');
});

flags('resources are checked before anything starts', () => {
  assert.is(
    parseResourcesFlag('resources', 'cpus:2;mem:1024;ports:[31000-31999]'),
    'cpus:2;mem:1024;ports:[31000-31999]',
  );
  throwsFlag(() => parseResourcesFlag('resources', 'cpus:lots'), 'resources');
  throwsFlag(() => parseResourcesFlag('resources', 'ports:[32000-31000]'), 'resources');
});

const slices = suite('agora local - disjoint slices of the machine');

slices('three agents split cpus, memory, disk and ports without overlap', () => {
  const s = machineSlices(3, { cpus: 2, memMb: 24_000, diskMb: 80_000 });
  assert.is(s.length, 3);
  assert.equal(
    s.map((x) => x.resources),
    [
      'cpus:0.666;mem:7658;disk:24960;ports:[31000-31999]',
      'cpus:0.666;mem:7658;disk:24960;ports:[32000-32999]',
      'cpus:0.666;mem:7658;disk:24960;ports:[33000-33999]',
    ],
  );
  assert.ok(s.every((x) => x.attributes.includes('zone:local')));
});

flags.run();
slices.run();
