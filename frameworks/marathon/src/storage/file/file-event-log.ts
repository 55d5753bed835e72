/**
 * The durable event log of the file store: `event-log.jsonl` (one
 * `<id>\t<event JSON>` line per event, appended and fsynced per batch) and
 * `event-cursors.json` (callback URL → id of the last event delivered),
 * written atomically. The retained entries are mirrored in memory (the file
 * store serves one process); the file is rewritten with the newest
 * `maxEntries` when it holds twice that many. A torn last line (a crash
 * mid-append) is ignored and cut at the next open.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EventLogEntry, type EventLogRepository, guarded, parseStored } from '../repositories.js';

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

const line = (e: EventLogEntry): string => `${e.id}\t${e.json}\n`;

/** `writeFileAtomic`: the file store's atomic write (passed in, so the two modules do not import each other). */
export function fileEventLog(
  dir: string,
  writeFileAtomic: (file: string, text: string) => Promise<void>,
): EventLogRepository {
  const logFile = join(dir, 'event-log.jsonl');
  const cursorsFile = join(dir, 'event-cursors.json');
  let entries: EventLogEntry[] | undefined;
  let linesInFile = 0;

  const load = async (): Promise<EventLogEntry[]> => {
    if (entries !== undefined) return entries;
    let text = '';
    try {
      text = await readFile(logFile, 'utf8');
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    const loaded: EventLogEntry[] = [];
    for (const l of text.split('\n')) {
      const tab = l.indexOf('\t');
      const id = Number(l.slice(0, tab));
      if (tab <= 0 || !Number.isSafeInteger(id)) continue;
      const json = l.slice(tab + 1);
      try {
        JSON.parse(json);
      } catch {
        continue; // a torn line
      }
      if (loaded.length === 0 || id > loaded[loaded.length - 1]!.id) loaded.push({ id, json });
    }
    linesInFile = loaded.length;
    // Rewrite when the file ends in a torn line, so the next append starts on a fresh line.
    if (text !== '' && !text.endsWith('\n')) await writeFileAtomic(logFile, loaded.map(line).join(''));
    entries = loaded;
    return loaded;
  };

  const readCursors = async (): Promise<Record<string, number>> => {
    try {
      return parseStored<Record<string, number>>(await readFile(cursorsFile, 'utf8'), 'event cursors');
    } catch (err) {
      if (isMissing(err)) return {};
      throw err;
    }
  };

  const indexAfter = (list: EventLogEntry[], afterId: number): number => {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.id <= afterId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  return {
    append: (batch, maxEntries) =>
      guarded('append to the event log', async () => {
        const list = await load();
        const top = list[list.length - 1]?.id ?? -1;
        const fresh = batch.filter((e, i) => e.id > top && (i === 0 || e.id > batch[i - 1]!.id));
        if (fresh.length === 0) return;
        const handle = await open(logFile, 'a', 0o644);
        try {
          await handle.writeFile(fresh.map(line).join(''), 'utf8');
          await handle.datasync();
        } finally {
          await handle.close();
        }
        list.push(...fresh);
        linesInFile += fresh.length;
        if (list.length > maxEntries) list.splice(0, list.length - maxEntries);
        if (linesInFile > 2 * maxEntries) {
          await writeFileAtomic(logFile, list.map(line).join(''));
          linesInFile = list.length;
        }
      }),
    after: (afterId, limit) =>
      guarded('read the event log', async () => {
        const list = await load();
        const from = indexAfter(list, afterId);
        return list.slice(from, from + limit);
      }),
    tail: (limit) => guarded('read the event log', async () => (await load()).slice(-limit)),
    bounds: () =>
      guarded('read the event log bounds', async () => {
        const list = await load();
        const first = list[0];
        const last = list[list.length - 1];
        return first === undefined || last === undefined ? undefined : { first: first.id, last: last.id };
      }),
    cursors: () => guarded('read the event cursors', readCursors),
    saveCursors: (cursors) =>
      guarded('save the event cursors', async () => {
        await writeFileAtomic(cursorsFile, JSON.stringify({ ...(await readCursors()), ...cursors }));
      }),
    deleteCursor: (url) =>
      guarded(`delete the event cursor of ${url}`, async () => {
        const all = await readCursors();
        if (!(url in all)) return;
        delete all[url];
        await writeFileAtomic(cursorsFile, JSON.stringify(all));
      }),
  };
}
