// Structured JSON logs (pino): one line per event, machine-readable in production, greppable locally.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'origin'): Logger {
  return pino({ name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime });
}
