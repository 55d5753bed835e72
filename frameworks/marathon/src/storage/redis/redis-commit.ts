/**
 * A StoreChange as one Lua script: Redis runs a script atomically, and the
 * script first checks that every key it touches is absent or of the
 * expected type, so no write command can fail after the first has run —
 * either everything is written or nothing is.
 */
import type { Redis } from 'ioredis';
import { MAX_APP_VERSIONS } from '../repositories.js';
import type { StoreChange } from '../store-change.js';

/** KEYS: every key touched; ARGV[1]: {types: [expected type per key], cmds: [[command, key index, args…]]}. */
const COMMIT_SCRIPT = `local spec = cjson.decode(ARGV[1])
for i, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k)['ok']
  if t ~= 'none' and t ~= spec.types[i] then
    return redis.error_reply('WRONGTYPE key ' .. k .. ' holds a ' .. t .. ', expected a ' .. spec.types[i])
  end
end
for _, c in ipairs(spec.cmds) do
  redis.call(c[1], KEYS[c[2]], unpack(c, 3))
end
return #spec.cmds`;

class ScriptBuilder {
  readonly keys: string[] = [];
  readonly types: string[] = [];
  readonly cmds: Array<Array<string | number>> = [];

  constructor(private readonly prefix: string) {}

  cmd(command: string, key: string, type: 'hash' | 'string', ...args: string[]): void {
    const full = this.prefix + key;
    let i = this.keys.indexOf(full);
    if (i < 0) {
      this.keys.push(full);
      this.types.push(type);
      i = this.keys.length - 1;
    }
    this.cmds.push([command, i + 1, ...args]);
  }
}

/** Write the change in one atomic script (old versions beyond the limit are dropped in the same script). */
export async function redisCommit(redis: Redis, prefix: string, change: StoreChange): Promise<void> {
  const b = new ScriptBuilder(prefix);
  for (const app of change.putApps ?? []) {
    const text = JSON.stringify(app);
    const versionsKey = `app-versions:${app.id}`;
    b.cmd('HSET', 'apps', 'hash', app.id, text);
    b.cmd('HSET', versionsKey, 'hash', app.version, text);
    const versions = [...new Set([...(await redis.hkeys(prefix + versionsKey)), app.version])].sort();
    const drop = versions.slice(0, Math.max(0, versions.length - MAX_APP_VERSIONS));
    if (drop.length > 0) b.cmd('HDEL', versionsKey, 'hash', ...drop);
  }
  for (const id of change.deleteApps ?? []) {
    b.cmd('HDEL', 'apps', 'hash', id);
    b.cmd('DEL', `app-versions:${id}`, 'hash');
  }
  if (change.putDeployment !== undefined) {
    b.cmd('HSET', 'deployments', 'hash', change.putDeployment.id, JSON.stringify(change.putDeployment));
  }
  for (const id of change.deleteDeployments ?? []) b.cmd('HDEL', 'deployments', 'hash', id);
  if (change.root !== undefined) {
    const text = JSON.stringify(change.root);
    b.cmd('SET', 'root-group', 'string', text);
    b.cmd('HSET', 'root-group-versions', 'hash', change.root.version, text);
    const versions = [...new Set([...(await redis.hkeys(`${prefix}root-group-versions`)), change.root.version])];
    const drop = versions.sort().slice(0, Math.max(0, versions.length - MAX_APP_VERSIONS));
    if (drop.length > 0) b.cmd('HDEL', 'root-group-versions', 'hash', ...drop);
  }
  if (b.cmds.length === 0) return;
  await redis.eval(COMMIT_SCRIPT, b.keys.length, ...b.keys, JSON.stringify({ types: b.types, cmds: b.cmds }));
}
