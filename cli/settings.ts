/**
 * The handler's settings as the command line takes and shows them: each row's flag (`make`,
 * `serve`, `backfill`), its help text (--help and the tables in docs/), and its default as shown.
 * They live here, not in handler/settings.ts, because handler/ is built into the Lambda image:
 * a help-text edit there would rebuild and redeploy the function (stacks/image-inputs.ts).
 *
 * The CLI's tables below are the handler's rows with these merged in, so commands import them
 * from here.
 */

import { THUMB_ROWS as HANDLER_THUMB_ROWS } from "../handler/config";
import { DEFAULT_LIMITS } from "../handler/engine/options";
import {
  type HANDLER_SETTINGS as HANDLER_ROWS,
  SERVICE_SETTINGS as HANDLER_SERVICE_SETTINGS,
  THUMBNAIL_SETTINGS as HANDLER_THUMBNAIL_SETTINGS,
  type Setting as HandlerSetting,
} from "../handler/settings";

export { isUnset, readSetting, type SettingValues } from "../handler/settings";

/** What the command line shows of a setting. */
export interface SettingHelp {
  /**
   * The variable users set (`serve`, `make`, `backfill`, and the deployment for rows marked
   * `stack`): THUMBNAILER_<env> unless given. The Lambda's own `env` is only the stack's to set.
   */
  readonly variable?: string;
  /** The flag, without "--", and its argument in --help; none: only its variable sets it. */
  readonly flag?: { readonly name: string; readonly arg: string };
  /** The default as help and docs show it, when not the value itself. */
  readonly shownDefault?: string;
  /** `thumbnailer serve`'s default, where it differs (a laptop has no buckets of its own). */
  readonly serveDefault?: string;
  /** One line for --help and docs/. */
  readonly doc: string;
}

/** A setting as the command line knows it: the handler's row and its help. */
export type Setting<T> = HandlerSetting<T> & SettingHelp;

/** Every handler setting's help: a setting missing here, or one the handler lacks, is a type error. */
const HELP = {
  destBucket: {
    flag: { name: "dest-bucket", arg: "NAME" },
    shownDefault: "(required)",
    serveDefault: "thumbnails",
    doc: "the bucket thumbnails are written to",
  },
  destPrefix: {
    flag: { name: "dest-prefix", arg: "P" },
    doc: "prepended to every thumbnail key",
  },
  sourceBucket: {
    flag: { name: "source-bucket", arg: "NAME" },
    shownDefault: "unset (any bucket)",
    serveDefault: "source",
    doc: "records from any other bucket are skipped; needed for the loop check",
  },
  sourcePrefix: {
    // The deployment's notificationPrefix is this setting (it also sets the function's SOURCE_PREFIX).
    variable: "THUMBNAILER_NOTIFICATION_PREFIX",
    flag: { name: "source-prefix", arg: "P" },
    doc: "only keys under this prefix are thumbnailed; others are skipped",
  },
  concurrency: {
    flag: { name: "concurrency", arg: "N" },
    doc: "records (uploads) processed at once",
  },
  cacheControl: {
    doc: "Cache-Control of every thumbnail; not immutable: a thumbnail is overwritten when its source changes",
  },
  region: {
    variable: "AWS_REGION",
    flag: { name: "region", arg: "R" },
    shownDefault: "set by Lambda",
    serveDefault: "us-east-1",
    doc: "region of the S3 client (and, locally, of the events)",
  },
  endpoint: {
    variable: "AWS_ENDPOINT_URL_S3",
    shownDefault: "unset (AWS)",
    doc: "an S3-compatible server (s3rver, MinIO): path-style addressing, checksums only where an API needs one",
  },
  logLevel: {
    flag: { name: "log-level", arg: "L" },
    doc: "the least important log lines written (any case)",
  },
  renditions: {
    flag: { name: "renditions", arg: "JSON|@FILE" },
    shownDefault: "unset (one rendition: THUMB_*)",
    doc: "the renditions made of each upload, replacing the single one the THUMB_* settings describe (setting both is an error)",
  },
  thumbWidth: {
    flag: { name: "width", arg: "N" },
    doc: "box width in pixels",
  },
  thumbHeight: {
    flag: { name: "height", arg: "N" },
    doc: "box height in pixels",
  },
  thumbFit: {
    flag: { name: "fit", arg: "MODE" },
    doc: "fit within the box (aspect kept), or fill it centre-cropped",
  },
  thumbFormat: {
    flag: { name: "format", arg: "FORMAT" },
    doc: "the thumbnail's format",
  },
  thumbQuality: {
    flag: { name: "quality", arg: "N" },
    doc: "encoder quality (ignored by lossless PNG)",
  },
  thumbBackground: {
    flag: { name: "background", arg: "#RRGGBB" },
    doc: "colour transparent areas are flattened onto",
  },
  maxInputBytes: {
    flag: { name: "max-input-bytes", arg: "N" },
    shownDefault: `${DEFAULT_LIMITS.maxInputBytes} (50 MiB)`,
    doc: "larger inputs are refused before they are read (INPUT_TOO_LARGE)",
  },
  maxInputPixels: {
    flag: { name: "max-input-pixels", arg: "N" },
    doc: "images declaring more pixels are refused before decoding (TOO_MANY_PIXELS)",
  },
  heicThumbnails: {
    flag: { name: "heic-thumbnails", arg: "BOOL" },
    doc: "decode a HEIC's embedded thumbnail, not its full image, when large enough for every rendition (false: never)",
  },
} as const satisfies { readonly [K in keyof typeof HANDLER_ROWS]: SettingHelp };

type Help = typeof HELP;
type WithHelp<S> = {
  readonly [K in keyof S]: S[K] & Help[K & keyof Help] & { readonly variable: string };
};

/** The prefix of every variable users set for this project (but the AWS SDK's own). */
export const VARIABLE_PREFIX = "THUMBNAILER_";

/** The rows of a handler table with their help merged in, and each one's user variable. */
function withHelp<S extends Record<string, HandlerSetting<unknown>>>(table: S): WithHelp<S> {
  return Object.fromEntries(
    Object.entries(table).map(([key, row]) => {
      const help = (HELP as Record<string, SettingHelp>)[key];
      return [key, { ...row, ...help, variable: help?.variable ?? VARIABLE_PREFIX + row.env }];
    }),
  ) as unknown as WithHelp<S>;
}

/** The variable users set for a row: the handler's rows' `variable`, else (serve's) its `env`. */
export function variableOf(setting: Setting<unknown>): string {
  return setting.variable ?? setting.env;
}

/** Where the handler reads and writes, and how it runs. */
export const SERVICE_SETTINGS = withHelp(HANDLER_SERVICE_SETTINGS);
/** What the engine makes: the thumbnail options and the input limits. */
export const THUMBNAIL_SETTINGS = withHelp(HANDLER_THUMBNAIL_SETTINGS);
export const HANDLER_SETTINGS = { ...SERVICE_SETTINGS, ...THUMBNAIL_SETTINGS } as const;

/** The THUMB_* rows (handler/config.ts), with their flags. */
export const THUMB_ROWS: readonly Setting<unknown>[] = Object.values(THUMBNAIL_SETTINGS).filter(
  (setting) => HANDLER_THUMB_ROWS.some((row) => row.env === setting.env),
);
