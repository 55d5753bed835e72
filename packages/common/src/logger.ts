/**
 * Structured logging with pino: JSON lines on stderr by default, one child
 * logger per component (`{component: 'master'}`), level from AGORA_LOG_LEVEL.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** @default process.env.AGORA_LOG_LEVEL ?? 'info' */
  level?: string;
  /** Component name put on every line. */
  component?: string;
  /** Where lines go. @default stderr */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['AGORA_LOG_LEVEL'] ?? 'info';
  const base = options.component === undefined ? {} : { component: options.component };
  return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, options.destination ?? pino.destination(2));
}

/** A logger that drops everything (for tests that do not read logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
