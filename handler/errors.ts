/**
 * Typed errors shared by the engine, the S3-event layer and the local tools, and `classify`, the
 * one place that decides what an error means for the object it happened on:
 *
 *   failed  the input can never be thumbnailed: record it on the source object, do not retry
 *   retry   transient (S3, throttling, network, an unknown error): throw so the event is retried
 *   fatal   the configuration cannot work: stop, touch no object, fail the invocation loudly
 */

/** The input itself is bad (or the record naming it is): recorded, never retried. */
export const INPUT_CODES = [
  "EMPTY_INPUT",
  "INPUT_TOO_LARGE",
  "TOO_MANY_PIXELS",
  "UNSUPPORTED_FORMAT",
  "CORRUPT_INPUT",
  "INVALID_RECORD",
  "INVALID_TASK",
  "SOURCE_NOT_FOUND",
] as const;
export const TRANSIENT_CODES = ["S3_ERROR", "TIMEOUT", "INTERNAL"] as const;
export const CONFIG_CODES = ["INVALID_OPTIONS", "INVALID_CONFIG"] as const;

export type InputCode = (typeof INPUT_CODES)[number];
export type TransientCode = (typeof TRANSIENT_CODES)[number];
export type ConfigCode = (typeof CONFIG_CODES)[number];
export type ErrorCode = InputCode | TransientCode | ConfigCode;

export const ERROR_CODES: readonly ErrorCode[] = [
  ...INPUT_CODES,
  ...TRANSIENT_CODES,
  ...CONFIG_CODES,
];

export function isErrorCode(value: unknown): value is ErrorCode {
  return ERROR_CODES.some((code) => code === value);
}

export class ThumbnailError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name: string = "ThumbnailError";

  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The input can never be thumbnailed: record it, do not retry. */
export class PermanentInputError extends ThumbnailError<InputCode> {
  override readonly name: string = "PermanentInputError";
}

/** An event record without a usable bucket or key: failed, with no object to record it on. */
export class InvalidRecordError extends PermanentInputError {
  override readonly name = "InvalidRecordError";

  constructor(message: string) {
    super("INVALID_RECORD", message);
  }
}

/** A failure that may go away on retry (S3 unavailable, throttled, timed out). */
export class TransientError extends ThumbnailError<TransientCode> {
  override readonly name = "TransientError";
}

/** Engine options or service configuration that cannot be used; names the setting. */
export class ConfigError extends ThumbnailError<ConfigCode> {
  override readonly name = "ConfigError";
  /** The environment variable the error is about (e.g. "THUMB_WIDTH"), when it is one. */
  readonly setting: string | undefined;

  constructor(message: string, options: { code?: ConfigCode; setting?: string } = {}) {
    super(options.code ?? "INVALID_CONFIG", message);
    this.setting = options.setting;
  }
}

export type Disposition = "failed" | "retry" | "fatal";

/** What happens next after `error` (see the top of this file). Unknown errors are retried. */
export function classify(error: unknown): Disposition {
  if (error instanceof ConfigError) return "fatal";
  if (error instanceof PermanentInputError) return "failed";
  return "retry";
}

/** The one "too large" error: `bytes` over `limit`, set by `setting` (a variable, flag or option). */
export function tooLarge(bytes: number, limit: number, setting: string): PermanentInputError {
  return new PermanentInputError(
    "INPUT_TOO_LARGE",
    `input is ${bytes} bytes, over the limit of ${limit} (${setting})`,
  );
}

/** A message safe to log or show: never a raw error object or stack. */
export function describeError(error: unknown): { code: ErrorCode; reason: string } {
  if (error instanceof ThumbnailError) return { code: error.code, reason: error.message };
  if (error instanceof Error)
    return { code: "INTERNAL", reason: `${error.name}: ${error.message}` };
  return { code: "INTERNAL", reason: String(error) };
}
