/**
 * Runtime log levels (Marathon's `/logging`): every logger Marathon creates
 * is registered by name (`marathon`, `marathon.<part>`); a level can be
 * changed at runtime, optionally for `durationSeconds`, after which the
 * previous level comes back. Changing `marathon` changes every logger.
 */
import { AgoraError, type Clock, type Disposable, type Logger } from '@agora/common';

/** Marathon's level names (lower case in requests; shown upper case). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'off'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export const ROOT_LOGGER = 'marathon';

export interface LoggerChange {
  level: LogLevelName;
  logger: string;
  durationSeconds?: number;
}

function pinoLevel(level: LogLevelName): string {
  return level === 'off' ? 'silent' : level;
}

function shownLevel(pino: string): string {
  return pino === 'silent' ? 'OFF' : pino.toUpperCase();
}

function badRequest(message: string, status = 400): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', message, { data: { status } });
}

/** Check a `POST /logging` body: `{level, logger, durationSeconds?}`. */
export function parseLoggerChange(body: unknown): LoggerChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('expected a JSON object {"level", "logger", "durationSeconds"}');
  }
  const b = body as Record<string, unknown>;
  const level = typeof b['level'] === 'string' ? b['level'].toLowerCase() : undefined;
  if (level === undefined || !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw badRequest(`level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  if (typeof b['logger'] !== 'string' || b['logger'] === '') throw badRequest('logger must be a non-empty string');
  const change: LoggerChange = { level: level as LogLevelName, logger: b['logger'] };
  const d = b['durationSeconds'];
  if (d !== undefined && d !== null) {
    if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0) {
      throw badRequest('durationSeconds must be a positive number');
    }
    change.durationSeconds = d;
  }
  return change;
}

export class LogLevels {
  private readonly loggers = new Map<string, Logger>();
  private readonly reverts = new Map<string, Disposable>();

  constructor(
    root: Logger,
    private readonly clock: Clock,
  ) {
    this.loggers.set(ROOT_LOGGER, root);
  }

  /** A child of the root logger for `part`, registered as `marathon.<part>`. */
  child(part: string): Logger {
    const child = this.loggers.get(ROOT_LOGGER)!.child({ part });
    this.loggers.set(`${ROOT_LOGGER}.${part}`, child);
    return child;
  }

  /** Logger name → level (upper case), sorted by name. */
  levels(): Record<string, string> {
    return Object.fromEntries(
      [...this.loggers].sort(([a], [b]) => a.localeCompare(b)).map(([name, l]) => [name, shownLevel(l.level)]),
    );
  }

  /** Apply a change; with `durationSeconds` the previous levels come back afterwards. Unknown logger: 404. */
  change(change: LoggerChange): void {
    const targets =
      change.logger === ROOT_LOGGER
        ? [...this.loggers.keys()]
        : this.loggers.has(change.logger)
          ? [change.logger]
          : undefined;
    if (targets === undefined) {
      throw badRequest(`Logger '${change.logger}' does not exist; GET /logging lists the loggers`, 404);
    }
    const previous = new Map(targets.map((name) => [name, this.loggers.get(name)!.level]));
    for (const name of targets) {
      this.reverts.get(name)?.dispose();
      this.reverts.delete(name);
      this.loggers.get(name)!.level = pinoLevel(change.level);
    }
    if (change.durationSeconds === undefined) return;
    const timer = this.clock.setTimeout(() => {
      for (const [name, level] of previous) {
        if (this.reverts.get(name) !== timer) continue;
        this.loggers.get(name)!.level = level;
        this.reverts.delete(name);
      }
    }, change.durationSeconds * 1000);
    for (const name of targets) this.reverts.set(name, timer);
  }

  dispose(): void {
    for (const t of new Set(this.reverts.values())) t.dispose();
    this.reverts.clear();
  }
}
