import { hasErrorCode } from '@agora/common';
import { parseZkUrl, redactZkUrl } from '@agora/coordination';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const parse = suite('parseZkUrl');

parse('one host and a path', () => {
  assert.equal(parseZkUrl('zk://127.0.0.1:2181/agora'), { connectString: '127.0.0.1:2181', path: '/agora' });
});

parse('several hosts, a nested path and credentials', () => {
  assert.equal(parseZkUrl('zk://jo:s3cret@zk1:2181,zk2.example.com:2182,10.0.0.3:2183/agora/prod'), {
    connectString: 'zk1:2181,zk2.example.com:2182,10.0.0.3:2183',
    path: '/agora/prod',
    auth: 'jo:s3cret',
  });
});

parse('a host without a port gets 2181', () => {
  assert.is(parseZkUrl('zk://zk1,zk2:2888/a').connectString, 'zk1:2181,zk2:2888');
});

parse('no path means the root; a trailing slash is dropped', () => {
  assert.is(parseZkUrl('zk://zk1:2181').path, '/');
  assert.is(parseZkUrl('zk://zk1:2181/').path, '/');
  assert.is(parseZkUrl('zk://zk1:2181/agora/').path, '/agora');
});

parse('the scheme is case-insensitive; a password may contain @ and :', () => {
  assert.equal(parseZkUrl('ZK://u:p@ss:w@h:1/x'), { connectString: 'h:1', path: '/x', auth: 'u:p@ss:w' });
});

const bad: Array<[string, RegExp]> = [
  ['http://zk1:2181/agora', /must start with 'zk:\/\/'/],
  ['zk1:2181/agora', /must start with 'zk:\/\/'/],
  ['zk://', /no ZooKeeper host/],
  ['zk:///agora', /no ZooKeeper host/],
  ['zk://zk1:2181,,zk2:2181/a', /empty host/],
  ['zk://zk1:abc/a', /port 'abc'/],
  ['zk://zk1:0/a', /out of range/],
  ['zk://zk1:65536/a', /out of range/],
  ['zk://zk1:1:2/a', /more than one ':'/],
  ['zk://[::1]:2181/a', /IPv6/],
  ['zk://bad_host!:2181/a', /not a valid host name/],
  ['zk://user@zk1:2181/a', /credentials/],
  ['zk://:pass@zk1:2181/a', /credentials/],
  ['zk://zk1:2181/a//b', /empty segment/],
  ['zk://zk1:2181/a/../b', /relative segment/],
  ['zk://zk1:2181/zookeeper/x', /reserved/],
  ['zk://zk1:2181/a b', /spaces/],
  ['zk://zk1:2181/a?x=1', /spaces, \? or #/],
];

for (const [url, why] of bad) {
  parse(`refuses ${JSON.stringify(url)} with AGORA_ERR_BAD_FLAG saying why`, () => {
    try {
      parseZkUrl(url);
      assert.unreachable('should throw');
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_FLAG'), String(err));
      const message = (err as Error).message;
      assert.match(message, why);
      assert.ok(message.includes(url), 'the message names the URL');
      assert.match(message, /expected zk:\/\//);
    }
  });
}

parse('a non-string is refused', () => {
  assert.throws(
    () => parseZkUrl(42 as unknown as string),
    (err: unknown) => hasErrorCode(err, 'AGORA_ERR_BAD_FLAG'),
  );
});

parse.run();

const redact = suite('redactZkUrl');

redact('hides the password only', () => {
  assert.is(redactZkUrl('zk://jo:s3cret@zk1:2181/a'), 'zk://jo:***@zk1:2181/a');
  assert.is(redactZkUrl('zk://zk1:2181/a'), 'zk://zk1:2181/a');
});

redact.run();
