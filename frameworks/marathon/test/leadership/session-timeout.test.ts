/** The election's ZooKeeper session uses the configured timeout (`--zk_session_timeout`, default 10 s). */
import { silentLogger } from '@agora/common';
import { startZooKeeper, waitFor, type ZooKeeperServer } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Leadership } from '../../src/leadership/leadership.js';

let zk: ZooKeeperServer;
const test = suite('marathon HA - ZooKeeper session timeout');
test.before(async () => {
  zk = await startZooKeeper();
});
test.after(async () => {
  await zk?.stop();
});

async function negotiated(sessionTimeoutMs: number | undefined, path: string): Promise<number> {
  const l = new Leadership({
    zk: `zk://${zk.connectString}/${path}`,
    self: { url: 'http://127.0.0.1:1', leader: '127.0.0.1:1' },
    logger: silentLogger(),
    ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
  });
  try {
    await l.start(
      async () => {},
      () => {},
    );
    await waitFor(async () => l.isLeader, { timeoutMs: 10_000, message: 'elected' });
    return l.negotiatedSessionTimeoutMs ?? -1;
  } finally {
    await l.close();
  }
}

test('the session gets the configured timeout; 10 s without one', async () => {
  assert.is(await negotiated(4000, 'a'), 4000);
  assert.is(await negotiated(undefined, 'b'), 10_000);
});

test.run();
