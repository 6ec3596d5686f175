/**
 * The handler's configuration: its settings (handler/settings.ts) read from the environment and
 * validated once at start-up. Every error names the variable and the values it accepts.
 */

import {
  defaultRendition,
  type Limits,
  parseRenditions,
  type Rendition,
  type ThumbnailOptions,
} from "./engine";
import { ConfigError } from "./errors";
import type { LogLevel } from "./log";
import {
  HANDLER_SETTINGS,
  readSettings,
  type Setting,
  type SettingValues,
  THUMBNAIL_SETTINGS,
} from "./settings";

export interface HandlerConfig {
  /** Where thumbnails are written (DEST_BUCKET, required). */
  readonly destBucket: string;
  /** Prepended to the source key to make the thumbnail key (DEST_PREFIX, default ""). */
  readonly destPrefix: string;
  /** The only bucket records are accepted from (SOURCE_BUCKET; unset: any bucket). */
  readonly sourceBucket: string | undefined;
  /** Only keys under this prefix are thumbnailed (SOURCE_PREFIX, default ""). */
  readonly sourcePrefix: string;
  /** What is made of each upload: RENDITIONS, or the single rendition of the THUMB_* settings. */
  readonly renditions: readonly Rendition[];
  readonly limits: Limits;
  /** Records of one event processed at once (CONCURRENCY). */
  readonly concurrency: number;
  /** Cache-Control of every thumbnail (CACHE_CONTROL). */
  readonly cacheControl: string;
  readonly region: string | undefined;
  /** An S3-compatible endpoint (AWS_ENDPOINT_URL_S3); unset: AWS. */
  readonly endpoint: string | undefined;
  readonly logLevel: LogLevel;
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function readConfig(env: NodeJS.ProcessEnv): HandlerConfig {
  const values = readSettings(HANDLER_SETTINGS, (setting) => env[setting.env]);
  const { destBucket, destPrefix, sourceBucket, sourcePrefix } = values;
  if (destBucket === undefined) {
    throw new ConfigError("DEST_BUCKET is required: the name of an S3 bucket", {
      setting: "DEST_BUCKET",
    });
  }
  const { options, limits } = engineSettings(values);
  const thumbSet = THUMB_ROWS.filter((setting) => env[setting.env]?.trim()).map((s) => s.env);
  const renditions = readRenditions(values.renditions, "RENDITIONS", options, thumbSet);
  refuseLoop(destBucket, destPrefix, sourceBucket, sourcePrefix, renditions);
  return {
    destBucket,
    destPrefix,
    sourceBucket,
    sourcePrefix,
    renditions,
    limits,
    concurrency: values.concurrency,
    cacheControl: values.cacheControl,
    region: values.region,
    endpoint: values.endpoint,
    logLevel: values.logLevel,
  };
}

/** The engine's options and limits from the values of THUMBNAIL_SETTINGS. */
export function engineSettings(values: SettingValues<typeof THUMBNAIL_SETTINGS>): {
  options: ThumbnailOptions;
  limits: Limits;
} {
  return {
    options: {
      width: values.thumbWidth,
      height: values.thumbHeight,
      fit: values.thumbFit,
      format: values.thumbFormat,
      quality: values.thumbQuality,
      background: values.thumbBackground,
    },
    limits: {
      maxInputBytes: values.maxInputBytes,
      maxInputPixels: values.maxInputPixels,
      heicThumbnails: values.heicThumbnails,
    },
  };
}

/** The THUMB_* rows: the single rendition that RENDITIONS replaces. */
export const THUMB_ROWS: readonly Setting<unknown>[] = Object.entries(THUMBNAIL_SETTINGS)
  .filter(([key]) => key.startsWith("thumb"))
  .map(([, setting]) => setting);

/**
 * The renditions list (`text`, named `source` in errors), or the single rendition of the THUMB_*
 * options. The two describe the same thing, so a list with any THUMB_* setting given
 * (`thumbSet`, as named to the user) is an error naming both.
 */
export function readRenditions(
  text: string | undefined,
  source: string,
  options: ThumbnailOptions,
  thumbSet: readonly string[],
): Rendition[] {
  if (text === undefined) return [defaultRendition(options)];
  if (thumbSet.length > 0) {
    throw new ConfigError(
      `${source} and ${thumbSet.join(", ")} are both set: the THUMB_* settings describe the ` +
        `single rendition that ${source} replaces; give the size, format and quality in ` +
        `${source} and leave out ${thumbSet.join(", ")}`,
      { setting: "RENDITIONS" },
    );
  }
  try {
    return parseRenditions(text, source);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.message, { setting: "RENDITIONS" });
  }
}

/**
 * Renditions written where the function is notified would trigger it again, forever. With one
 * bucket for both, SOURCE_PREFIX and every rendition's prefix (DEST_PREFIX + its own) must be
 * non-empty and neither may contain the other.
 */
function refuseLoop(
  destBucket: string,
  destPrefix: string,
  sourceBucket: string | undefined,
  sourcePrefix: string,
  renditions: readonly Rendition[],
): void {
  if (sourceBucket !== destBucket) return;
  for (const rendition of renditions) {
    const prefix = destPrefix + rendition.prefix;
    // An empty prefix is a prefix of everything, so this also refuses empty prefixes.
    if (!sourcePrefix.startsWith(prefix) && !prefix.startsWith(sourcePrefix)) continue;
    const named = rendition.prefix === "" ? "" : ` + rendition "${rendition.name}"'s prefix`;
    throw new ConfigError(
      `SOURCE_BUCKET and DEST_BUCKET are both "${destBucket}" but SOURCE_PREFIX ("${sourcePrefix}") ` +
        `and DEST_PREFIX${named} ("${prefix}") overlap, so every thumbnail would trigger the ` +
        `function again. Use a separate DEST_BUCKET, or two non-empty prefixes neither of which ` +
        `starts with the other (e.g. SOURCE_PREFIX="uploads/" and DEST_PREFIX="thumbnails/").`,
      { setting: "DEST_PREFIX" },
    );
  }
}
