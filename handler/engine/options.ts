/**
 * Thumbnail options and input limits: their types, safe defaults, and validation of
 * untrusted raw values (environment variables, CLI flags) into a typed object.
 */
import { ConfigError, PermanentInputError } from "../errors";
import { integer, ok, oneOf, type Parser, parser } from "../parse";

export const FITS = ["inside", "cover"] as const;
export const FORMATS = ["jpeg", "webp", "avif", "png", "gif"] as const;

export type Fit = (typeof FITS)[number];
export type OutputFormat = (typeof FORMATS)[number];

export interface ThumbnailOptions {
  /** Box width in pixels (1..MAX_DIMENSION). */
  width: number;
  /** Box height in pixels (1..MAX_DIMENSION). */
  height: number;
  /**
   * "inside": fit within the box, aspect ratio kept; "cover": fill the box exactly, centre-cropped.
   * Never enlarged: an input smaller than the box stays its size (cover only crops it).
   */
  fit: Fit;
  format: OutputFormat;
  /** Encoder quality 1..100 (ignored by PNG and GIF, which have none). */
  quality: number;
  /** "#rrggbb" that transparent areas are flattened onto. */
  background: string;
}

export interface Limits {
  /** Inputs larger than this many bytes are refused before any decoding. */
  maxInputBytes: number;
  /** Inputs whose header declares more pixels (width x height) are refused before decoding. */
  maxInputPixels: number;
  /**
   * false: always decode a HEIC's primary image, never its embedded thumbnail item (unset or
   * true: the thumbnail when it is large enough, as libvips does).
   */
  heicThumbnails?: boolean;
}

export const DEFAULT_OPTIONS: Readonly<ThumbnailOptions> = Object.freeze({
  width: 256,
  height: 256,
  fit: "inside",
  format: "jpeg",
  quality: 80,
  background: "#ffffff",
});

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxInputBytes: 50 * 1024 * 1024,
  maxInputPixels: 100_000_000,
});

/** Largest box side accepted: thumbnails, not re-encodes of the original. */
export const MAX_DIMENSION = 4096;

/** Each option's parser: the one statement of its bounds and accepted values. */
export const OPTION_PARSERS: {
  readonly [K in keyof ThumbnailOptions]: Parser<ThumbnailOptions[K]>;
} = {
  width: integer(1, MAX_DIMENSION),
  height: integer(1, MAX_DIMENSION),
  fit: oneOf(FITS),
  format: oneOf(FORMATS),
  quality: integer(1, 100),
  background: parser('a colour "#rrggbb" (e.g. "#ffffff")', (raw) =>
    typeof raw === "string" && /^#[0-9a-fA-F]{6}$/.test(raw)
      ? ok(raw.toLowerCase())
      : { ok: false },
  ),
};

/** A limit: a positive integer (no "unlimited": zero is not a way to switch a limit off). */
export const LIMIT_PARSER = integer(1);

const OPTION_NAMES = Object.keys(DEFAULT_OPTIONS) as (keyof ThumbnailOptions)[];

/**
 * Validates raw option values (numbers, or strings as read from the environment) and fills
 * the missing ones (undefined or "") from DEFAULT_OPTIONS.
 * Throws ConfigError (INVALID_OPTIONS) naming the option and the accepted values.
 */
export function resolveOptions(raw: Record<string, unknown>): ThumbnailOptions {
  const unknown = Object.keys(raw).filter((key) => !(OPTION_NAMES as string[]).includes(key));
  if (unknown.length > 0) {
    throw invalid(`unknown option ${unknown.join(", ")}; accepted: ${OPTION_NAMES.join(", ")}`);
  }
  const option = <K extends keyof ThumbnailOptions>(name: K): ThumbnailOptions[K] => {
    const value = raw[name];
    if (value === undefined || value === "") return DEFAULT_OPTIONS[name];
    const parse: Parser<ThumbnailOptions[K]> = OPTION_PARSERS[name];
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    throw invalid(`${name} must be ${parse.accepted}, got ${show(value)}`);
  };
  return {
    width: option("width"),
    height: option("height"),
    fit: option("fit"),
    format: option("format"),
    quality: option("quality"),
    background: option("background"),
  };
}

/** Throws ConfigError (INVALID_CONFIG) unless both limits are positive safe integers. */
export function checkLimits(limits: Limits): void {
  for (const name of ["maxInputBytes", "maxInputPixels"] as const) {
    const value = limits[name];
    if (!LIMIT_PARSER(value).ok) {
      throw new ConfigError(
        `Invalid limit ${name}: ${String(value)}; expected ${LIMIT_PARSER.accepted}`,
      );
    }
  }
}

/** Throws pixelLimitError's error, if any. */
export function checkPixels(
  width: number,
  height: number,
  maxInputPixels: number,
  frames = 1,
): void {
  const error = pixelLimitError(width, height, maxInputPixels, frames);
  if (error !== undefined) throw error;
}

/**
 * PermanentInputError (TOO_MANY_PIXELS) if `frames` frames of width x height exceed the limit,
 * e.g. "Input is 783 frames of 640×421 = 211 MP, over the 100 MP limit"; else undefined.
 */
export function pixelLimitError(
  width: number,
  height: number,
  maxInputPixels: number,
  frames = 1,
): PermanentInputError | undefined {
  const pixels = width * height * frames;
  if (pixels <= maxInputPixels) return undefined;
  let [counted, limit] = [megapixels(pixels), megapixels(maxInputPixels)];
  // Rounded alike (100,000,001 and 100,000,000): the exact counts say which is over.
  if (counted === limit) [counted, limit] = [`${pixels} pixels`, `${maxInputPixels}-pixel`];
  const what = `${frames > 1 ? `${frames} frames of ` : ""}${width}×${height}`;
  return new PermanentInputError(
    "TOO_MANY_PIXELS",
    `Input is ${what} = ${counted}, over the ${limit} limit`,
  );
}

/** 210971520 -> "211 MP", 2560000 -> "2.56 MP" (3 significant digits); 400 -> "400 pixels". */
function megapixels(pixels: number): string {
  return pixels < 10_000 ? `${pixels} pixels` : `${Number((pixels / 1e6).toPrecision(3))} MP`;
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function invalid(detail: string): ConfigError {
  return new ConfigError(`Invalid thumbnail option: ${detail}`, { code: "INVALID_OPTIONS" });
}
