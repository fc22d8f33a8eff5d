// The process logger (pino, JSON on stdout). Child loggers per session (`sid`) and per node
// (`node`); messages are short stable phrases. Secrets are redacted by key name.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.MERIDIAN_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: { paths: ['password', '*.password', 'token', '*.token', 'backendPassword', '*.backendPassword', 'mockKey', '*.mockKey'], censor: '[redacted]' },
  });
}

/** A logger that prints nothing (unit tests, CLI helpers). */
export const silentLogger: Logger = pino({ level: 'silent' });
