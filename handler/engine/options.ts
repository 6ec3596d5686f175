/**
 * Thumbnail options and input limits: their types, safe defaults, and validation of
 * untrusted raw values (environment variables, CLI flags) into a typed object.
 */
import { ConfigError, PermanentInputError } from "../errors";

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
  const given = (key: keyof ThumbnailOptions): unknown =>
    raw[key] === undefined || raw[key] === "" ? undefined : raw[key];
  return {
    width: integerOption("width", given("width"), DEFAULT_OPTIONS.width, 1, MAX_DIMENSION),
    height: integerOption("height", given("height"), DEFAULT_OPTIONS.height, 1, MAX_DIMENSION),
    fit: choiceOption("fit", given("fit"), DEFAULT_OPTIONS.fit, FITS),
    format: choiceOption("format", given("format"), DEFAULT_OPTIONS.format, FORMATS),
    quality: integerOption("quality", given("quality"), DEFAULT_OPTIONS.quality, 1, 100),
    background: colourOption("background", given("background"), DEFAULT_OPTIONS.background),
  };
}

/** Throws ConfigError (INVALID_CONFIG) unless both limits are positive safe integers. */
export function checkLimits(limits: Limits): void {
  for (const name of ["maxInputBytes", "maxInputPixels"] as const) {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ConfigError(`Invalid limit ${name}: ${String(value)}; expected a positive integer`);
    }
  }
}

/**
 * Throws PermanentInputError (TOO_MANY_PIXELS) if width x height exceeds the limit; `what`
 * (e.g. "40 frames of 300x200: ") says whose pixels were counted.
 */
export function checkPixels(
  width: number,
  height: number,
  maxInputPixels: number,
  what = "",
): void {
  if (width * height > maxInputPixels) {
    throw new PermanentInputError(
      "TOO_MANY_PIXELS",
      `Input is ${what}${width}x${height} = ${width * height} pixels; the limit is ${maxInputPixels}`,
    );
  }
}

function integerOption(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const parsed = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof parsed !== "number" || !Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return parsed;
}

function choiceOption<T extends string>(
  name: string,
  value: unknown,
  fallback: T,
  choices: readonly T[],
): T {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw invalid(`${name} must be one of ${choices.join(", ")}, got ${show(value)}`);
  }
  return value as T;
}

function colourOption(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !/^#[0-9a-fA-F]{6}$/.test(value)) {
    throw invalid(`${name} must be a colour "#rrggbb" (e.g. "#ffffff"), got ${show(value)}`);
  }
  return value.toLowerCase();
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function invalid(detail: string): ConfigError {
  return new ConfigError(`Invalid thumbnail option: ${detail}`, "INVALID_OPTIONS");
}
