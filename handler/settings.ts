/**
 * The handler's settings: one row each (environment variable, command-line flag, parser with its
 * bounds, default, one-line doc). The handler's readConfig, the `make`/`serve` flags and their
 * --help, the stack's Lambda environment and its THUMBNAILER_* variables, and the tables in
 * docs/ are all derived from these rows; a setting added anywhere else fails a test.
 */

import { DEFAULT_LIMITS, DEFAULT_OPTIONS, LIMIT_PARSER, OPTION_PARSERS } from "./engine/options";
import { RENDITIONS_TEXT } from "./engine/renditions";
import { ConfigError } from "./errors";
import { LOG_LEVELS } from "./log";
import { anyText, bucketName, httpUrl, integer, oneOf, type Parser, text } from "./parse";

export interface Setting<T> {
  /** The environment variable the handler reads. */
  readonly env: string;
  /** The `make`/`serve` flag, without "--", and its argument in --help. */
  readonly flag?: { readonly name: string; readonly arg: string };
  readonly parse: Parser<T>;
  /** Used when the variable is unset or blank; undefined: the setting stays unset. */
  readonly default: T | undefined;
  /** The default as the docs show it, when not the value itself. */
  readonly shownDefault?: string;
  /** `thumbnailer serve`'s default, where it differs (a laptop has no buckets of its own). */
  readonly serveDefault?: string;
  /** Set on the deployed function from THUMBNAILER_<env>, or the cdktf.json context key. */
  readonly stack?: boolean;
  /** Spaces around the value are part of it (a key prefix, a header value). */
  readonly keepSpaces?: boolean;
  readonly doc: string;
}

/** The concurrency cap: records of one event, uploads of the local service, files of `make`. */
export const MAX_CONCURRENCY = 64;

/** What the engine makes: the thumbnail options and the input limits (both `make` and `serve`). */
export const THUMBNAIL_SETTINGS = {
  renditions: {
    env: "RENDITIONS",
    flag: { name: "renditions", arg: "JSON|@FILE" },
    parse: RENDITIONS_TEXT,
    default: undefined,
    shownDefault: "unset (one rendition: THUMB_*)",
    stack: true,
    keepSpaces: true,
    doc: "the renditions made of each upload, replacing the single one the THUMB_* settings describe (setting both is an error)",
  },
  thumbWidth: {
    env: "THUMB_WIDTH",
    flag: { name: "width", arg: "N" },
    parse: OPTION_PARSERS.width,
    default: DEFAULT_OPTIONS.width,
    stack: true,
    doc: "box width in pixels",
  },
  thumbHeight: {
    env: "THUMB_HEIGHT",
    flag: { name: "height", arg: "N" },
    parse: OPTION_PARSERS.height,
    default: DEFAULT_OPTIONS.height,
    stack: true,
    doc: "box height in pixels",
  },
  thumbFit: {
    env: "THUMB_FIT",
    flag: { name: "fit", arg: "MODE" },
    parse: OPTION_PARSERS.fit,
    default: DEFAULT_OPTIONS.fit,
    stack: true,
    doc: "fit within the box (aspect kept), or fill it centre-cropped",
  },
  thumbFormat: {
    env: "THUMB_FORMAT",
    flag: { name: "format", arg: "FORMAT" },
    parse: OPTION_PARSERS.format,
    default: DEFAULT_OPTIONS.format,
    stack: true,
    doc: "the thumbnail's format",
  },
  thumbQuality: {
    env: "THUMB_QUALITY",
    flag: { name: "quality", arg: "N" },
    parse: OPTION_PARSERS.quality,
    default: DEFAULT_OPTIONS.quality,
    stack: true,
    doc: "encoder quality (ignored by lossless PNG)",
  },
  thumbBackground: {
    env: "THUMB_BACKGROUND",
    flag: { name: "background", arg: "#RRGGBB" },
    parse: OPTION_PARSERS.background,
    default: DEFAULT_OPTIONS.background,
    stack: true,
    doc: "colour transparent areas are flattened onto",
  },
  maxInputBytes: {
    env: "MAX_INPUT_BYTES",
    flag: { name: "max-input-bytes", arg: "N" },
    parse: LIMIT_PARSER,
    default: DEFAULT_LIMITS.maxInputBytes,
    shownDefault: `${DEFAULT_LIMITS.maxInputBytes} (50 MiB)`,
    stack: true,
    doc: "larger inputs are refused before they are read (INPUT_TOO_LARGE)",
  },
  maxInputPixels: {
    env: "MAX_INPUT_PIXELS",
    flag: { name: "max-input-pixels", arg: "N" },
    parse: LIMIT_PARSER,
    default: DEFAULT_LIMITS.maxInputPixels,
    stack: true,
    doc: "images declaring more pixels are refused before decoding (TOO_MANY_PIXELS)",
  },
} as const satisfies Record<string, Setting<unknown>>;

/** Where the handler reads and writes, and how it runs. */
export const SERVICE_SETTINGS = {
  destBucket: {
    env: "DEST_BUCKET",
    flag: { name: "dest-bucket", arg: "NAME" },
    parse: bucketName,
    default: undefined,
    shownDefault: "(required)",
    serveDefault: "thumbnails",
    doc: "the bucket thumbnails are written to",
  },
  destPrefix: {
    env: "DEST_PREFIX",
    flag: { name: "dest-prefix", arg: "P" },
    parse: anyText(1024),
    default: "",
    stack: true,
    keepSpaces: true,
    doc: "prepended to every thumbnail key",
  },
  sourceBucket: {
    env: "SOURCE_BUCKET",
    flag: { name: "source-bucket", arg: "NAME" },
    parse: bucketName,
    default: undefined,
    shownDefault: "unset (any bucket)",
    serveDefault: "source",
    doc: "records from any other bucket are skipped; needed for the loop check",
  },
  sourcePrefix: {
    env: "SOURCE_PREFIX",
    flag: { name: "source-prefix", arg: "P" },
    parse: anyText(1024),
    default: "",
    keepSpaces: true,
    doc: "only keys under this prefix are thumbnailed; others are skipped",
  },
  concurrency: {
    env: "CONCURRENCY",
    flag: { name: "concurrency", arg: "N" },
    parse: integer(1, MAX_CONCURRENCY),
    default: 4,
    stack: true,
    doc: "records (uploads) processed at once",
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
    doc: "Cache-Control of every thumbnail; not immutable: a thumbnail is overwritten when its source changes",
  },
  region: {
    env: "AWS_REGION",
    flag: { name: "region", arg: "R" },
    parse: text(/^\S+$/, "an AWS region such as eu-west-1"),
    default: undefined,
    shownDefault: "set by Lambda",
    serveDefault: "us-east-1",
    doc: "region of the S3 client (and, locally, of the events)",
  },
  endpoint: {
    env: "AWS_ENDPOINT_URL_S3",
    parse: httpUrl("http://localhost:4568"),
    default: undefined,
    shownDefault: "unset (AWS)",
    doc: "an S3-compatible server (s3rver, MinIO): path-style addressing, checksums only where an API needs one",
  },
  logLevel: {
    env: "LOG_LEVEL",
    flag: { name: "log-level", arg: "L" },
    parse: oneOf(LOG_LEVELS, { ignoreCase: true }),
    default: "info",
    doc: "the least important log lines written (any case)",
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
 * One setting's value from its raw text: blank is unset (the default); anything else must parse.
 * Throws ConfigError naming `source` (the variable, or the flag it came from) and what is accepted.
 */
export function readSetting<T>(
  setting: Setting<T>,
  raw: string | undefined,
  source: string = setting.env,
): T | undefined {
  if (raw === undefined || raw.trim() === "") return setting.default;
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
