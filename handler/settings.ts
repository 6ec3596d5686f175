/**
 * The handler's settings: one row each (environment variable, parser with its bounds, default).
 * The handler's readConfig, the stack's Lambda environment and its THUMBNAILER_* variables, and
 * the `make`/`serve`/`backfill` flags are all derived from these rows; a setting added anywhere
 * else fails a test. What the command line shows of them (flags, help text, the defaults as
 * shown) is cli/settings.ts's: this file is built into the Lambda image, so a help-text edit
 * here would rebuild and redeploy it.
 */

import { DEFAULT_LIMITS, DEFAULT_OPTIONS, LIMIT_PARSER, OPTION_PARSERS } from "./engine/options";
import { RENDITIONS_TEXT } from "./engine/renditions";
import { ConfigError } from "./errors";
import { LOG_LEVELS } from "./log";
import { anyText, boolean, bucketName, httpUrl, integer, oneOf, type Parser, text } from "./parse";

export interface Setting<T> {
  /** The environment variable the handler reads. */
  readonly env: string;
  readonly parse: Parser<T>;
  /** Used when the variable is unset or blank; undefined: the setting stays unset. */
  readonly default: T | undefined;
  /** Set on the deployed function from THUMBNAILER_<env>, or the cdktf.json context key. */
  readonly stack?: boolean;
  /** Spaces around the value are part of it (a key prefix, a header value). */
  readonly keepSpaces?: boolean;
}

/** The concurrency cap: records of one event, uploads of the local service, files of `make`. */
export const MAX_CONCURRENCY = 64;

/** What the engine makes: the thumbnail options and the input limits (both `make` and `serve`). */
export const THUMBNAIL_SETTINGS = {
  renditions: {
    env: "RENDITIONS",
    parse: RENDITIONS_TEXT,
    default: undefined,
    stack: true,
    keepSpaces: true,
  },
  thumbWidth: {
    env: "THUMB_WIDTH",
    parse: OPTION_PARSERS.width,
    default: DEFAULT_OPTIONS.width,
    stack: true,
  },
  thumbHeight: {
    env: "THUMB_HEIGHT",
    parse: OPTION_PARSERS.height,
    default: DEFAULT_OPTIONS.height,
    stack: true,
  },
  thumbFit: {
    env: "THUMB_FIT",
    parse: OPTION_PARSERS.fit,
    default: DEFAULT_OPTIONS.fit,
    stack: true,
  },
  thumbFormat: {
    env: "THUMB_FORMAT",
    parse: OPTION_PARSERS.format,
    default: DEFAULT_OPTIONS.format,
    stack: true,
  },
  thumbQuality: {
    env: "THUMB_QUALITY",
    parse: OPTION_PARSERS.quality,
    default: DEFAULT_OPTIONS.quality,
    stack: true,
  },
  thumbBackground: {
    env: "THUMB_BACKGROUND",
    parse: OPTION_PARSERS.background,
    default: DEFAULT_OPTIONS.background,
    stack: true,
  },
  maxInputBytes: {
    env: "MAX_INPUT_BYTES",
    parse: LIMIT_PARSER,
    default: DEFAULT_LIMITS.maxInputBytes,
    stack: true,
  },
  maxInputPixels: {
    env: "MAX_INPUT_PIXELS",
    parse: LIMIT_PARSER,
    default: DEFAULT_LIMITS.maxInputPixels,
    stack: true,
  },
  heicThumbnails: {
    env: "HEIC_THUMBNAILS",
    parse: boolean,
    default: true,
    stack: true,
  },
} as const satisfies Record<string, Setting<unknown>>;

/** Where the handler reads and writes, and how it runs. */
export const SERVICE_SETTINGS = {
  destBucket: {
    env: "DEST_BUCKET",
    parse: bucketName,
    default: undefined,
  },
  destPrefix: {
    env: "DEST_PREFIX",
    parse: anyText(1024),
    default: "",
    stack: true,
    keepSpaces: true,
  },
  sourceBucket: {
    env: "SOURCE_BUCKET",
    parse: bucketName,
    default: undefined,
  },
  sourcePrefix: {
    env: "SOURCE_PREFIX",
    parse: anyText(1024),
    default: "",
    keepSpaces: true,
  },
  concurrency: {
    env: "CONCURRENCY",
    parse: integer(1, MAX_CONCURRENCY),
    default: 4,
    stack: true,
  },
  cacheControl: {
    env: "CACHE_CONTROL",
    // Thumbnails are overwritten in place when their source changes, so they are not immutable.
    parse: text(
      /^(?=.*\S)[\x20-\x7e]+$/,
      'a Cache-Control header value of printable ASCII, e.g. "max-age=86400"',
    ),
    default: "max-age=86400",
    stack: true,
    keepSpaces: true,
  },
  region: {
    env: "AWS_REGION",
    parse: text(/^\S+$/, "an AWS region such as eu-west-1"),
    default: undefined,
  },
  endpoint: {
    env: "AWS_ENDPOINT_URL_S3",
    parse: httpUrl("http://localhost:4568"),
    default: undefined,
  },
  logLevel: {
    env: "LOG_LEVEL",
    parse: oneOf(LOG_LEVELS, { ignoreCase: true }),
    default: "info",
  },
} as const satisfies Record<string, Setting<unknown>>;

export const HANDLER_SETTINGS = { ...SERVICE_SETTINGS, ...THUMBNAIL_SETTINGS } as const;

/** A table's values, each typed by its parser (and undefined where it has no default). */
export type SettingValues<S extends Record<string, Setting<unknown>>> = {
  -readonly [K in keyof S]: S[K] extends Setting<infer T>
    ? undefined extends S[K]["default"]
      ? T | undefined
      : T
    : never;
};

/**
 * Whether `raw` leaves the setting unset: undefined or empty, or only spaces where spaces are
 * not part of the value (a prefix of spaces is a prefix).
 */
export function isUnset(setting: Setting<unknown>, raw: string | undefined): raw is undefined {
  return raw === undefined || (setting.keepSpaces ? raw : raw.trim()) === "";
}

/**
 * One setting's value from its raw text: unset (isUnset) is the default; anything else must parse.
 * Throws ConfigError naming `source` (the variable, or the flag it came from) and what is accepted.
 */
export function readSetting<T>(
  setting: Setting<T>,
  raw: string | undefined,
  source: string = setting.env,
): T | undefined {
  if (isUnset(setting, raw)) return setting.default;
  const value = setting.keepSpaces ? raw : raw.trim();
  const parsed = setting.parse(value);
  if (parsed.ok) return parsed.value;
  throw new ConfigError(
    `${source}=${JSON.stringify(value)} is invalid: expected ${setting.parse.accepted}`,
    { setting: setting.env },
  );
}

/** Every setting of `table`, its raw text given by `raw`, named in errors by `source`. */
export function readSettings<S extends Record<string, Setting<unknown>>>(
  table: S,
  raw: (setting: Setting<unknown>) => string | undefined,
  source: (setting: Setting<unknown>) => string = (setting) => setting.env,
): SettingValues<S> {
  return Object.fromEntries(
    Object.entries(table).map(([key, setting]) => [
      key,
      readSetting(setting, raw(setting), source(setting)),
    ]),
  ) as SettingValues<S>;
}
