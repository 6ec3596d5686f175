/**
 * Typed errors shared by the engine, the S3-event layer and the local tools.
 *
 * Every failure the pipeline knows about is a ThumbnailError with a machine-readable
 * `code` and a `permanent` flag. Permanent failures (the input itself is bad) are
 * recorded and never retried; transient ones (S3, throttling, network) are thrown
 * so the caller (Lambda's async invocation, the local service) retries them.
 */

export type PermanentCode =
  | "EMPTY_INPUT"
  | "INPUT_TOO_LARGE"
  | "TOO_MANY_PIXELS"
  | "UNSUPPORTED_FORMAT"
  | "CORRUPT_INPUT";

export type TransientCode = "S3_ERROR" | "TIMEOUT" | "INTERNAL";

export type ErrorCode = PermanentCode | TransientCode | "INVALID_OPTIONS" | "INVALID_CONFIG";

export class ThumbnailError extends Error {
  override readonly name: string = "ThumbnailError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The input can never be thumbnailed: record it, do not retry. */
export class PermanentInputError extends ThumbnailError {
  override readonly name = "PermanentInputError";

  constructor(code: PermanentCode, message: string, options?: { cause?: unknown }) {
    super(code, message, true, options);
  }
}

/** A failure that may go away on retry (S3 unavailable, throttled, timed out). */
export class TransientError extends ThumbnailError {
  override readonly name = "TransientError";

  constructor(code: TransientCode, message: string, options?: { cause?: unknown }) {
    super(code, message, false, options);
  }
}

/** Engine options or service configuration that cannot be used; names the setting. */
export class ConfigError extends ThumbnailError {
  override readonly name = "ConfigError";
  /** The environment variable the error is about (e.g. "THUMB_WIDTH"), when it is one. */
  readonly setting: string | undefined;

  constructor(
    message: string,
    options: { code?: "INVALID_OPTIONS" | "INVALID_CONFIG"; setting?: string } = {},
  ) {
    super(options.code ?? "INVALID_CONFIG", message, true);
    this.setting = options.setting;
  }
}

export function isPermanent(error: unknown): boolean {
  return error instanceof ThumbnailError && error.permanent;
}

/** A message safe to log or show: never a raw error object or stack. */
export function describeError(error: unknown): { code: string; reason: string } {
  if (error instanceof ThumbnailError) return { code: error.code, reason: error.message };
  if (error instanceof Error)
    return { code: "INTERNAL", reason: `${error.name}: ${error.message}` };
  return { code: "INTERNAL", reason: String(error) };
}
