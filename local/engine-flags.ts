import type { ParseArgsConfig } from "node:util";
import {
  checkLimits,
  DEFAULT_LIMITS,
  DEFAULT_OPTIONS,
  FITS,
  FORMATS,
  type Limits,
  MAX_DIMENSION,
  resolveOptions,
  type ThumbnailOptions,
} from "../handler/engine";
import { ConfigError } from "../handler/errors";

/** The engine's options as flags, shared by `make` and `serve`; each maps to a handler variable. */
export const ENGINE_FLAGS = {
  width: { type: "string", env: "THUMB_WIDTH" },
  height: { type: "string", env: "THUMB_HEIGHT" },
  fit: { type: "string", env: "THUMB_FIT" },
  format: { type: "string", env: "THUMB_FORMAT" },
  quality: { type: "string", env: "THUMB_QUALITY" },
  background: { type: "string", env: "THUMB_BACKGROUND" },
  "max-input-pixels": { type: "string", env: "MAX_INPUT_PIXELS" },
  "max-input-bytes": { type: "string", env: "MAX_INPUT_BYTES" },
} as const;

export type EngineFlag = keyof typeof ENGINE_FLAGS;

/** For util.parseArgs. */
export const ENGINE_FLAG_OPTIONS: NonNullable<ParseArgsConfig["options"]> = Object.fromEntries(
  Object.keys(ENGINE_FLAGS).map((name) => [name, { type: "string" }]),
);

export const ENGINE_FLAGS_HELP = `Thumbnail options (defaults in brackets):
  --width N               box width, 1..${MAX_DIMENSION} [${DEFAULT_OPTIONS.width}]
  --height N              box height, 1..${MAX_DIMENSION} [${DEFAULT_OPTIONS.height}]
  --fit MODE              ${FITS.join(" | ")}: fit within the box, or fill it centre-cropped [${DEFAULT_OPTIONS.fit}]
  --format FORMAT         ${FORMATS.join(" | ")} [${DEFAULT_OPTIONS.format}]
  --quality N             encoder quality, 1..100 [${DEFAULT_OPTIONS.quality}]
  --background #RRGGBB    colour transparent areas are flattened onto [${DEFAULT_OPTIONS.background}]
  --max-input-pixels N    refuse images declaring more pixels [${DEFAULT_LIMITS.maxInputPixels}]
  --max-input-bytes N     refuse files larger than this [${DEFAULT_LIMITS.maxInputBytes}]`;

/** Flags given on the command line, as the handler's environment variables. */
export function engineEnv(values: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [flag, { env: variable }] of Object.entries(ENGINE_FLAGS)) {
    const value = values[flag];
    if (typeof value === "string") env[variable] = value;
  }
  return env;
}

/** Flags as engine options and limits; throws ConfigError naming the flag. */
export function engineSettings(values: Record<string, unknown>): {
  options: ThumbnailOptions;
  limits: Limits;
} {
  const options = resolveOptions({
    width: values.width,
    height: values.height,
    fit: values.fit,
    format: values.format,
    quality: values.quality,
    background: values.background,
  });
  const limits = {
    maxInputPixels: positiveInteger(values, "max-input-pixels", DEFAULT_LIMITS.maxInputPixels),
    maxInputBytes: positiveInteger(values, "max-input-bytes", DEFAULT_LIMITS.maxInputBytes),
  };
  checkLimits(limits);
  return { options, limits };
}

function positiveInteger(
  values: Record<string, unknown>,
  flag: EngineFlag,
  fallback: number,
): number {
  const text = values[flag];
  if (text === undefined) return fallback;
  if (
    typeof text !== "string" ||
    !/^\d+$/.test(text) ||
    !Number.isSafeInteger(Number(text)) ||
    Number(text) < 1
  ) {
    throw new ConfigError(`--${flag} must be a positive whole number, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}
