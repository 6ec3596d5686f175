/**
 * The handler's configuration: its settings (handler/settings.ts) read from the environment and
 * validated once at start-up. Every error names the variable and the values it accepts.
 */

import { type Limits, type ThumbnailOptions, thumbnailSpec } from "./engine";
import { ConfigError } from "./errors";
import type { LogLevel } from "./log";
import {
  HANDLER_SETTINGS,
  readSettings,
  type SettingValues,
  type THUMBNAIL_SETTINGS,
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
  readonly thumbnail: ThumbnailOptions;
  /** thumbnailSpec(thumbnail), e.g. "256x256-inside-q80.jpeg": written to and compared in metadata. */
  readonly spec: string;
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
  refuseLoop(destBucket, destPrefix, sourceBucket, sourcePrefix);
  const { options, limits } = engineSettings(values);
  return {
    destBucket,
    destPrefix,
    sourceBucket,
    sourcePrefix,
    thumbnail: options,
    spec: thumbnailSpec(options),
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
    limits: { maxInputBytes: values.maxInputBytes, maxInputPixels: values.maxInputPixels },
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
      { setting: "DEST_PREFIX" },
    );
  }
}
