// Election and detection on a real, private ZooKeeper (from @agora/testkit).
import { type ErrorCode, createLogger, hasErrorCode } from '@agora/common';
import {
  type LeaderContender,
  StandaloneContender,
  type ZkContender,
  type ZkDetector,
  createContender,
  createDetector,
} from '@agora/coordination';
import {
  type TcpProxy,
  type ZooKeeperServer,
  fourLetterWord,
  freePort,
  startTcpProxy,
  startZooKeeper,
  waitFor,
} from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ZkSession, zookeeper } from '../src/zookeeper/session.js';

const SESSION_MS = 2_000; // the server's tick is 500 ms, so 2 s sessions are allowed
// Quiet unless AGORA_LOG_LEVEL asks for logs.
const logger = createLogger({ component: 'coordination-test', level: process.env['AGORA_LOG_LEVEL'] ?? 'silent' });
const opts = { logger, sessionTimeoutMs: SESSION_MS };

let zk: ZooKeeperServer;
let pathCounter = 0;
const closers: Array<() => Promise<void>> = [];

/** A fresh election path per test. */
function freshPath(): string {
  pathCounter++;
  return `/agora/test${pathCounter}`;
}

function contender(url: string, name: string): ZkContender<{ name: string }> {
  const c = createContender(url, { name }, opts) as ZkContender<{ name: string }>;
  closers.push(() => c.close());
  return c;
}

function detector(url: string): ZkDetector<{ name: string }> {
  const d = createDetector<{ name: string }>(url, opts) as ZkDetector<{ name: string }>;
  closers.push(() => d.close());
  return d;
}

/** A plain session for looking at and poking ZooKeeper from the test. */
async function rawSession(connectString = zk.connectString, resume?: ZkSession): Promise<ZkSession> {
  const session = new ZkSession({
    connectString,
    sessionTimeoutMs: SESSION_MS,
    logger,
    ...(resume === undefined
      ? {}
      : { sessionId: resume.client.getSessionId(), sessionPassword: resume.client.getSessionPassword() }),
  });
  closers.push(() => session.close());
  await session.whenConnected();
  return session;
}

/** Records leadership changes of several contenders and the most that ever led at once. */
function track(contenders: Record<string, LeaderContender<unknown>>) {
  const events: string[] = [];
  const leaders = new Set<string>();
  let most = 0;
  for (const [name, c] of Object.entries(contenders)) {
    c.onDidChangeLeadership((leading) => {
      if (leading) leaders.add(name);
      else leaders.delete(name);
      events.push(`${name}:${leading}`);
      most = Math.max(most, leaders.size);
    });
  }
  return {
    events,
    get most() {
      return most;
    },
    leaders: () => [...leaders],
  };
}

/** Waits until exactly one of `cs` leads (and, if given, that it is `expected`); returns its name. */
async function leaderAmong(cs: Array<ZkContender<{ name: string }>>, expected?: string): Promise<string> {
  return waitFor(
    () => {
      const leading = cs.filter((c) => c.isLeader);
      const name = leading.length === 1 ? leading[0]!.data.name : undefined;
      return expected === undefined || name === expected ? name : undefined;
    },
    { timeoutMs: 15_000, message: `exactly one leader${expected === undefined ? '' : ` (${expected})`}` },
  );
}

async function rejectsWith(fn: () => Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.ok(hasErrorCode(err, code), `expected ${code}, got ${String(err)}`);
    return;
  }
  assert.unreachable(`expected a rejection with ${code}`);
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

async function closeAll(): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close();
}

// ---------------------------------------------------------------------------

const election = suite('zookeeper election');

election.before(async () => {
  zk = await startZooKeeper();
});
election.after.each(closeAll);
election.after(async () => {
  await zk.stop();
});

election(
  'two contenders: exactly one leads, the first to join, under json.info_<10 digits> with its JSON',
  async () => {
    const path = freshPath();
    const url = zk.url(path);
    const tcpBefore = tcpHandles();
    const a = contender(url, 'a');
    const b = contender(url, 'b');
    const t = track({ a, b });
    await a.start();
    await b.start();
    assert.is(await leaderAmong([a, b], 'a'), 'a');
    assert.is(a.znode, `${path}/json.info_0000000000`);
    assert.is(b.znode, `${path}/json.info_0000000001`);

    const raw = await rawSession();
    const children = (await raw.getChildren(path)).sort();
    assert.equal(children, ['json.info_0000000000', 'json.info_0000000001']);
    assert.equal(JSON.parse(String(await raw.getData(`${path}/json.info_0000000000`))), { name: 'a' });
    assert.equal(JSON.parse(String(await raw.getData(`${path}/json.info_0000000001`))), { name: 'b' });
    const stat = await raw.exists(`${path}/json.info_0000000000`);
    assert.ok(stat !== null && stat.ephemeralOwner.readBigUInt64BE() !== 0n, 'the znode is ephemeral');
    assert.equal(t.events, ['a:true']);
    await raw.close();

    await a.close();
    await b.close();
    assert.equal(t.events, ['a:true', 'a:false', 'b:true', 'b:false']);
    assert.is(t.most, 1);
    await waitFor(() => tcpHandles() <= tcpBefore, { message: 'every ZooKeeper socket closed' });
  },
);

election('each contender watches only its predecessor (and its own node), not the children list', async () => {
  const path = freshPath();
  const url = zk.url(path);
  const [a, b, c] = [contender(url, 'a'), contender(url, 'b'), contender(url, 'c')];
  for (const x of [a, b, c]) await x.start();
  assert.is(await leaderAmong([a, b, c], 'a'), 'a');
  const ids = [a, b, c].map((x) => `0x${x.currentSession!.sessionIdHex.replace(/^0+/, '')}`);
  // `wchp`: every watched path, each followed by the sessions watching it.
  const watchers = await waitFor(
    async () => {
      const byPath = parseWatchesByPath(await fourLetterWord(zk.port, 'wchp'));
      const n1 = byPath.get(`${path}/json.info_0000000001`) ?? [];
      const n0 = byPath.get(`${path}/json.info_0000000000`) ?? [];
      return n0.length === 2 && n1.length === 2 ? byPath : undefined;
    },
    { message: 'the watches to be set' },
  );
  assert.equal(watchers.get(`${path}/json.info_0000000000`)?.sort(), [ids[0], ids[1]].sort());
  assert.equal(watchers.get(`${path}/json.info_0000000001`)?.sort(), [ids[1], ids[2]].sort());
  assert.equal(watchers.get(`${path}/json.info_0000000002`), [ids[2]]);
  assert.is(watchers.get(path), undefined, 'nobody watches the children list');

  // The middle one leaves: c now waits behind a; a keeps leading.
  await b.close();
  await waitFor(
    async () =>
      parseWatchesByPath(await fourLetterWord(zk.port, 'wchp'))
        .get(`${path}/json.info_0000000000`)
        ?.includes(ids[2]!),
    { message: 'c to watch a' },
  );
  assert.ok(a.isLeader);
  assert.not.ok(c.isLeader);
  await a.close();
  assert.is(await leaderAmong([c], 'c'), 'c');
});

function parseWatchesByPath(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('/')) {
      current = [];
      out.set(line.trim(), current);
    } else if (line.trim().startsWith('0x')) {
      current?.push(line.trim());
    }
  }
  return out;
}

election('the detector sees no leader, then the leader, then the next one when the leader closes', async () => {
  const path = freshPath();
  const url = zk.url(path);
  const d = detector(url);
  const seen: Array<string | undefined> = [];
  d.onDidChangeLeader((leader) => seen.push(leader?.name));
  await d.start();
  assert.is(d.leader, undefined, 'no election path yet: no leader');
  await rejectsWith(() => d.waitForLeader(100), 'AGORA_ERR_NO_LEADER');

  const a = contender(url, 'a');
  const b = contender(url, 'b');
  const waiting = d.waitForLeader(10_000);
  await a.start();
  assert.equal(await waiting, { name: 'a' });
  await b.start();
  await leaderAmong([a, b]);

  const aNode = a.znode!;
  await a.close();
  assert.is(await leaderAmong([b], 'b'), 'b');
  await waitFor(() => d.leader?.name === 'b', { message: 'the detector to report b' });
  const raw = await rawSession();
  assert.is(await raw.exists(aNode), null, "the closed contender's znode is gone");

  await b.close();
  await waitFor(() => d.leader === undefined, { message: 'the detector to report no leader' });
  assert.equal(seen, ['a', 'b', undefined]);
});

election('the detector ignores other children and reports a non-JSON leader as no leader', async () => {
  const path = freshPath();
  const url = zk.url(path);
  const raw = await rawSession();
  await raw.mkdirp(`${path}/log_replicas`);
  await raw.create(`${path}/json.info_x`, Buffer.from('{"name":"not a member"}'), zookeeper.CreateMode.PERSISTENT);
  await raw.create(`${path}/info_`, Buffer.from('binary'), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL);
  const bad = await raw.create(
    `${path}/json.info_`,
    Buffer.from('not json'),
    zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
  );
  const d = detector(url);
  await d.start();
  assert.is(d.leader, undefined, 'a leader without JSON is no leader');

  const a = contender(url, 'a');
  await a.start();
  assert.not.ok(a.isLeader, 'the non-JSON node is lower, so a waits');
  assert.is(d.leader, undefined);
  await raw.remove(bad);
  assert.is(await leaderAmong([a], 'a'), 'a');
  await waitFor(() => d.leader?.name === 'a', { message: 'the detector to report a' });
});

election('a contender whose znode is deleted stops leading and joins again at the back', async () => {
  const url = zk.url(freshPath());
  const a = contender(url, 'a');
  const b = contender(url, 'b');
  const t = track({ a, b });
  await a.start();
  await b.start();
  assert.is(await leaderAmong([a, b], 'a'), 'a');
  const first = a.znode!;
  const raw = await rawSession();
  await raw.remove(first);
  assert.is(await leaderAmong([a, b], 'b'), 'b');
  await waitFor(() => a.znode !== undefined && a.znode !== first, { message: 'a to join again' });
  assert.not.ok(a.isLeader);
  // One deletion notifies both sessions at once, so whether a steps down
  // before b steps up is not determined: only the outcome is.
  assert.equal([...t.events].sort(), ['a:false', 'a:true', 'b:true']);
  assert.is(t.events[0], 'a:true');
});

election(
  'session lost by a network partition: the leader gives up before the other leads, then contends again',
  async () => {
    const url = (proxy: TcpProxy | undefined, path: string) =>
      proxy === undefined ? zk.url(path) : `zk://${proxy.address}${path}`;
    const path = freshPath();
    const proxy = await startTcpProxy(zk.port);
    closers.push(() => proxy.close());
    const a = contender(url(proxy, path), 'a');
    const b = contender(url(undefined, path), 'b');
    const t = track({ a, b });
    await a.start();
    await b.start();
    assert.is(await leaderAmong([a, b], 'a'), 'a');
    const firstNode = a.znode;
    const firstSession = a.currentSession!.sessionIdHex;

    proxy.partition('blackhole');
    assert.is(await leaderAmong([a, b], 'b'), 'b');
    assert.equal(t.events, ['a:true', 'a:false', 'b:true'], 'a gave up before b was elected');
    assert.is(t.most, 1);

    proxy.heal();
    await waitFor(() => a.znode !== undefined && a.znode !== firstNode, {
      timeoutMs: 15_000,
      message: 'a to join again with a new session',
    });
    assert.is.not(a.currentSession!.sessionIdHex, firstSession);
    assert.not.ok(a.isLeader, 'a is behind b now');
    await b.close();
    assert.is(await leaderAmong([a], 'a'), 'a');
    assert.is(t.most, 1);
    assert.equal(t.events, ['a:true', 'a:false', 'b:true', 'b:false', 'a:true']);
  },
);

election('session expired by the server: the contender gives up, makes a new session and contends again', async () => {
  const path = freshPath();
  const proxy = await startTcpProxy(zk.port);
  closers.push(() => proxy.close());
  const a = contender(`zk://${proxy.address}${path}`, 'a');
  const b = contender(zk.url(path), 'b');
  const t = track({ a, b });
  await a.start();
  await b.start();
  assert.is(await leaderAmong([a, b], 'a'), 'a');
  const firstNode = a.znode;
  const firstSession = a.currentSession!;

  // Cut a off, end its session from a second client that attaches to it with
  // the same id and password, then let a back: the server tells a its session
  // expired. (While cut off, a cannot know that its session ended, so this is
  // the one case where a still believes it leads while b is elected.)
  proxy.partition('reset');
  const thief = await rawSession(zk.connectString, firstSession);
  assert.is(thief.sessionIdHex, firstSession.sessionIdHex);
  await thief.close();
  await waitFor(() => b.isLeader, { message: 'b to lead once the session is gone' });
  proxy.heal();

  await waitFor(() => !a.isLeader, { message: 'a to give up' });
  await waitFor(() => a.znode !== undefined && a.znode !== firstNode, { message: 'a to join again' });
  assert.is.not(a.currentSession!.sessionIdHex, firstSession.sessionIdHex);
  assert.is(await leaderAmong([a, b], 'b'), 'b');
  assert.ok(t.events.includes('a:false'));
  await b.close();
  assert.is(await leaderAmong([a], 'a'), 'a');
});

election(
  'start() fails with AGORA_ERR_COORDINATION when ZooKeeper cannot be reached, and leaves nothing behind',
  async () => {
    const port = await freePort();
    const tcpBefore = tcpHandles();
    const c = createContender(`zk://127.0.0.1:${port}/agora`, { name: 'x' }, { ...opts, startTimeoutMs: 500 });
    const d = createDetector(`zk://127.0.0.1:${port}/agora`, { ...opts, startTimeoutMs: 500 });
    for (const x of [c, d]) {
      await rejectsWith(() => x.start(), 'AGORA_ERR_COORDINATION');
    }
    await rejectsWith(() => c.start(), 'AGORA_ERR_CLOSED');
    await waitFor(() => tcpHandles() <= tcpBefore, { message: 'sockets closed' });
  },
);

election(
  'close() right after start() stops at once: start() fails with AGORA_ERR_CLOSED, no socket is left',
  async () => {
    const url = zk.url(freshPath());
    const tcpBefore = tcpHandles();
    for (let i = 0; i < 5; i++) {
      const c = contender(url, `c${i}`);
      const d = detector(url);
      const starts = [c.start(), d.start()].map((p) =>
        p.then(
          () => 'started',
          (err: unknown) => err,
        ),
      );
      await Promise.all([c.close(), d.close()]);
      for (const outcome of await Promise.all(starts)) {
        assert.ok(outcome === 'started' || hasErrorCode(outcome, 'AGORA_ERR_CLOSED'), String(outcome));
      }
    }
    await waitFor(() => tcpHandles() <= tcpBefore, { timeoutMs: 3_000, message: 'sockets closed' });
  },
);

election(
  'a detector cut off from ZooKeeper reports no leader once its session is lost, and the leader again after',
  async () => {
    const path = freshPath();
    const proxy = await startTcpProxy(zk.port);
    closers.push(() => proxy.close());
    const a = contender(zk.url(path), 'a');
    await a.start();
    await leaderAmong([a], 'a');
    const d = detector(`zk://${proxy.address}${path}`);
    const seen: Array<string | undefined> = [];
    d.onDidChangeLeader((leader) => seen.push(leader?.name));
    await d.start();
    assert.equal(d.leader, { name: 'a' });
    proxy.partition('blackhole');
    await waitFor(() => d.leader === undefined, { message: 'the detector to give up the leader' });
    proxy.heal();
    await waitFor(() => d.leader?.name === 'a', { timeoutMs: 15_000, message: 'the detector to see a again' });
    assert.equal(seen, ['a', undefined, 'a']);
  },
);

election('createContender without a URL is standalone; a bad URL is refused', async () => {
  const s = createContender(undefined, { name: 's' });
  assert.ok(s instanceof StandaloneContender);
  await s.start();
  assert.ok(s.isLeader);
  await s.close();
  for (const bad of ['http://127.0.0.1:2181/agora', 'zk://', 'zk://h:99999/a']) {
    assert.throws(
      () => createContender(bad, {}),
      (err: unknown) => hasErrorCode(err, 'AGORA_ERR_BAD_FLAG'),
    );
    assert.throws(
      () => createDetector(bad),
      (err: unknown) => hasErrorCode(err, 'AGORA_ERR_BAD_FLAG'),
    );
  }
});

// Restarts the shared server, so it runs last.
election(
  'ZooKeeper down for longer than the session timeout: leadership is given up, then exactly one leads again',
  async () => {
    const url = zk.url(freshPath());
    const a = contender(url, 'a');
    const b = contender(url, 'b');
    const t = track({ a, b });
    await a.start();
    await b.start();
    assert.is(await leaderAmong([a, b], 'a'), 'a');
    const restarting = zk.restart({ downMs: SESSION_MS * 1.5 });
    await waitFor(() => !a.isLeader, { message: 'a to give up while ZooKeeper is down' });
    assert.ok(zk.pid === undefined, 'ZooKeeper was still down when a gave up');
    await restarting;
    const leader = await leaderAmong([a, b]);
    assert.ok(leader === 'a' || leader === 'b');
    assert.is(t.most, 1);
  },
);

election.run();
