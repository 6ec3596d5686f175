/**
 * The handler's configuration: environment variables, read and validated once at start-up.
 * Every error names the variable and the values it accepts. See docs/handler.md for the table.
 */

import {
  DEFAULT_LIMITS,
  type Limits,
  resolveOptions,
  type ThumbnailOptions,
  thumbnailSpec,
} from "./engine";
import { ConfigError, ThumbnailError } from "./errors";
import { LOG_LEVELS, type LogLevel } from "./log";

export interface HandlerConfig {
  /** Where thumbnails are written (DEST_BUCKET, required). */
  readonly destBucket: string;
  /** Prepended to the source key to make the thumbnail key (DEST_PREFIX, default ""). */
  readonly destPrefix: string;
  /** The only bucket records are accepted from (SOURCE_BUCKET; unset: any bucket). */
  readonly sourceBucket: string | undefined;
  /** Only keys under this prefix are thumbnailed (SOURCE_PREFIX, default ""). */
  readonly sourcePrefix: string;
  readonly thumbnail: ThumbnailOptions;
  /** thumbnailSpec(thumbnail), e.g. "256x256-inside-q80.jpeg": written to and compared in metadata. */
  readonly spec: string;
  readonly limits: Limits;
  /** Records of one event processed at once (CONCURRENCY, 1..64, default 4). */
  readonly concurrency: number;
  /** Cache-Control of every thumbnail (CACHE_CONTROL). */
  readonly cacheControl: string;
  readonly region: string | undefined;
  /** An S3-compatible endpoint (AWS_ENDPOINT_URL_S3); unset: AWS. */
  readonly endpoint: string | undefined;
  readonly logLevel: LogLevel;
}

export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 64;
/** Thumbnails are overwritten in place when their source changes, so they are not immutable. */
export const DEFAULT_CACHE_CONTROL = "max-age=86400";

/** Environment variable for each engine option. */
const THUMBNAIL_VARIABLES = {
  THUMB_WIDTH: "width",
  THUMB_HEIGHT: "height",
  THUMB_FIT: "fit",
  THUMB_FORMAT: "format",
  THUMB_QUALITY: "quality",
  THUMB_BACKGROUND: "background",
} as const;

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function readConfig(env: NodeJS.ProcessEnv): HandlerConfig {
  const destBucket = bucketName(env, "DEST_BUCKET", true);
  const sourceBucket = bucketName(env, "SOURCE_BUCKET", false);
  const destPrefix = env.DEST_PREFIX ?? "";
  const sourcePrefix = env.SOURCE_PREFIX ?? "";
  refuseLoop(destBucket, destPrefix, sourceBucket, sourcePrefix);

  const thumbnail = thumbnailOptions(env);
  return {
    destBucket,
    destPrefix,
    sourceBucket,
    sourcePrefix,
    thumbnail,
    spec: thumbnailSpec(thumbnail),
    limits: {
      maxInputBytes: positiveInteger(env, "MAX_INPUT_BYTES", DEFAULT_LIMITS.maxInputBytes),
      maxInputPixels: positiveInteger(env, "MAX_INPUT_PIXELS", DEFAULT_LIMITS.maxInputPixels),
    },
    concurrency: concurrency(env),
    cacheControl: cacheControl(env),
    region: nonEmpty(env.AWS_REGION),
    endpoint: endpoint(env),
    logLevel: logLevel(env),
  };
}

/**
 * Thumbnails written where the function is notified would trigger it again, forever. With one
 * bucket for both, the prefixes must be non-empty and neither may contain the other.
 */
function refuseLoop(
  destBucket: string,
  destPrefix: string,
  sourceBucket: string | undefined,
  sourcePrefix: string,
): void {
  if (sourceBucket !== destBucket) return;
  // An empty prefix is a prefix of everything, so this also refuses an empty SOURCE/DEST_PREFIX.
  if (sourcePrefix.startsWith(destPrefix) || destPrefix.startsWith(sourcePrefix)) {
    throw new ConfigError(
      `SOURCE_BUCKET and DEST_BUCKET are both "${destBucket}" but SOURCE_PREFIX ("${sourcePrefix}") ` +
        `and DEST_PREFIX ("${destPrefix}") overlap, so every thumbnail would trigger the function ` +
        `again. Use a separate DEST_BUCKET, or two non-empty prefixes neither of which starts ` +
        `with the other (e.g. SOURCE_PREFIX="uploads/" and DEST_PREFIX="thumbnails/").`,
    );
  }
}

/** S3 bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function bucketName(env: NodeJS.ProcessEnv, name: string, required: true): string;
function bucketName(env: NodeJS.ProcessEnv, name: string, required: false): string | undefined;
function bucketName(env: NodeJS.ProcessEnv, name: string, required: boolean): string | undefined {
  const value = nonEmpty(env[name]);
  if (value === undefined) {
    if (required) throw new ConfigError(`${name} is required: the name of an S3 bucket`);
    return undefined;
  }
  if (!BUCKET_NAME.test(value)) {
    throw new ConfigError(
      `${name}="${value}" is not a bucket name: expected 3-63 lowercase letters, digits, dots ` +
        `and hyphens, starting and ending with a letter or digit`,
    );
  }
  return value;
}

/**
 * Each THUMB_* variable is validated by the engine on its own, so the error names both the
 * variable and the engine's accepted values.
 */
function thumbnailOptions(env: NodeJS.ProcessEnv): ThumbnailOptions {
  const raw: Record<string, unknown> = {};
  for (const [variable, option] of Object.entries(THUMBNAIL_VARIABLES)) {
    const value = nonEmpty(env[variable]);
    if (value === undefined) continue;
    try {
      resolveOptions({ [option]: value });
    } catch (error) {
      if (error instanceof ThumbnailError) throw new ConfigError(`${variable}: ${error.message}`);
      throw error;
    }
    raw[option] = value;
  }
  return resolveOptions(raw);
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = nonEmpty(env[name]);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${name}="${text}" is invalid: expected a positive whole number`);
  }
  return value;
}

function concurrency(env: NodeJS.ProcessEnv): number {
  const value = positiveInteger(env, "CONCURRENCY", DEFAULT_CONCURRENCY);
  if (value > MAX_CONCURRENCY) {
    throw new ConfigError(
      `CONCURRENCY="${value}" is invalid: expected a whole number from 1 to ${MAX_CONCURRENCY}`,
    );
  }
  return value;
}

function cacheControl(env: NodeJS.ProcessEnv): string {
  const value = env.CACHE_CONTROL;
  if (value === undefined) return DEFAULT_CACHE_CONTROL;
  if (!/^[\x20-\x7e]+$/.test(value) || value.trim() === "") {
    throw new ConfigError(
      `CACHE_CONTROL=${JSON.stringify(value)} is invalid: expected a Cache-Control header value ` +
        `of printable ASCII, e.g. "${DEFAULT_CACHE_CONTROL}"`,
    );
  }
  return value;
}

function endpoint(env: NodeJS.ProcessEnv): string | undefined {
  const value = nonEmpty(env.AWS_ENDPOINT_URL_S3);
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new ConfigError(
      `AWS_ENDPOINT_URL_S3="${value}" is invalid: expected an http:// or https:// URL of an ` +
        `S3-compatible endpoint, e.g. "http://localhost:4568"`,
    );
  }
  return value;
}

function logLevel(env: NodeJS.ProcessEnv): LogLevel {
  const text = nonEmpty(env.LOG_LEVEL);
  if (text === undefined) return "info";
  const value = text.toLowerCase();
  const level = LOG_LEVELS.find((candidate) => candidate === value);
  if (level === undefined) {
    throw new ConfigError(
      `LOG_LEVEL="${text}" is invalid: expected one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  return level;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}
