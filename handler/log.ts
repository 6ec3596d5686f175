/**
 * Structured logging: one JSON object per line on stdout, which CloudWatch Logs (and a terminal)
 * keep as is. Callers pass plain fields, never raw error objects (use describeError).
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  log(level: LogLevel, fields: Record<string, unknown>): void;
}

/** A logger that drops lines below `level` and writes the rest through `write` (stdout by default). */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  return {
    log(lineLevel, fields) {
      if (LOG_LEVELS.indexOf(lineLevel) < threshold) return;
      write(JSON.stringify({ level: lineLevel, time: new Date().toISOString(), ...fields }));
    },
  };
}
