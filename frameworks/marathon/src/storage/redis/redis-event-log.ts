/**
 * The durable event log on Redis: a stream `<prefix>event-log` whose entry
 * ids are `<event id>-0` with one field `e` = the event JSON, trimmed to a
 * bound, and a hash `<prefix>event-cursors` (callback URL → id of the last
 * event delivered to it).
 *
 * A batch is appended by one Lua script (atomic: all of it or nothing), which
 * skips entries not above the newest logged id, so a retry after a lost
 * answer writes nothing twice, and a deposed leader that still writes cannot
 * put an older id after the new leader's events.
 */
import type { Redis } from 'ioredis';
import { type EventLogEntry, type EventLogRepository, guarded } from '../repositories.js';

/** KEYS[1]: the stream. ARGV[1]: max entries; then id, json pairs (ascending ids). */
const APPEND_SCRIPT = `local top = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then top = tonumber(string.match(last[1][1], '^(%d+)')) end
local n = 0
for i = 2, #ARGV, 2 do
  local id = tonumber(ARGV[i])
  if id > top then
    redis.call('XADD', KEYS[1], ARGV[i] .. '-0', 'e', ARGV[i + 1])
    top = id
    n = n + 1
  end
end
if n > 0 then redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[1]) end
return n`;

type StreamEntry = [id: string, fields: string[]];

function toEntries(raw: StreamEntry[]): EventLogEntry[] {
  const out: EventLogEntry[] = [];
  for (const [id, fields] of raw) {
    const at = fields.indexOf('e');
    const json = at >= 0 ? fields[at + 1] : undefined;
    if (json !== undefined) out.push({ id: Number(id.slice(0, id.indexOf('-'))), json });
  }
  return out;
}

export function redisEventLog(redis: Redis, streamKey: string, cursorsKey: string): EventLogRepository {
  return {
    append: (entries, maxEntries) =>
      guarded('append to the event log', async () => {
        if (entries.length === 0) return;
        const args: string[] = [String(maxEntries)];
        for (const e of entries) args.push(String(e.id), e.json);
        await redis.eval(APPEND_SCRIPT, 1, streamKey, ...args);
      }),
    after: (afterId, limit) =>
      guarded('read the event log', async () =>
        // Every entry id ends in -0, so starting at `<afterId>-1` excludes afterId (works before Redis 6.2's `(`).
        toEntries((await redis.xrange(streamKey, `${afterId}-1`, '+', 'COUNT', limit)) as StreamEntry[]),
      ),
    tail: (limit) =>
      guarded('read the event log', async () =>
        toEntries((await redis.xrevrange(streamKey, '+', '-', 'COUNT', limit)) as StreamEntry[]).reverse(),
      ),
    bounds: () =>
      guarded('read the event log bounds', async () => {
        const [first] = toEntries((await redis.xrange(streamKey, '-', '+', 'COUNT', 1)) as StreamEntry[]);
        const [last] = toEntries((await redis.xrevrange(streamKey, '+', '-', 'COUNT', 1)) as StreamEntry[]);
        return first === undefined || last === undefined ? undefined : { first: first.id, last: last.id };
      }),
    cursors: () =>
      guarded('read the event cursors', async () => {
        const all = await redis.hgetall(cursorsKey);
        const out: Record<string, number> = {};
        for (const [url, id] of Object.entries(all)) if (/^\d+$/.test(id)) out[url] = Number(id);
        return out;
      }),
    saveCursors: (cursors) =>
      guarded('save the event cursors', async () => {
        const flat = Object.entries(cursors).flatMap(([url, id]) => [url, String(id)]);
        if (flat.length > 0) await redis.hset(cursorsKey, ...flat);
      }),
    deleteCursor: (url) =>
      guarded(`delete the event cursor of ${url}`, async () => {
        await redis.hdel(cursorsKey, url);
      }),
  };
}
