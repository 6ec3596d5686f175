/**
 * Renditions: the named outputs made from each upload (sizes, formats, crops, animation). The
 * one place that knows what a rendition is, how a list of them is read from untrusted JSON (the
 * RENDITIONS setting, `--renditions`, the stack's context) and what the default is.
 */
import { ConfigError } from "../errors";
import { ok, type Parser, parser } from "../parse";
import {
  DEFAULT_OPTIONS,
  FITS,
  FORMATS,
  MAX_DIMENSION,
  type OutputFormat,
  resolveOptions,
  type ThumbnailOptions,
} from "./options";

/** Where a cover crop is taken: sharp's fixed centre, or its subject-finding strategies. */
export const POSITIONS = ["centre", "attention", "entropy"] as const;
export type Position = (typeof POSITIONS)[number];

/** Formats that can hold several frames with their delays. */
export const ANIMATED_FORMATS: readonly OutputFormat[] = ["webp", "gif"];
/** Formats whose encoder has a quality setting. */
export const QUALITY_FORMATS: readonly OutputFormat[] = ["jpeg", "webp", "avif"];

export interface Rendition extends ThumbnailOptions {
  /** 1-32 of a-z, 0-9 and "-"; unique in a list. */
  readonly name: string;
  /** Only with fit "cover": which part of the image the crop keeps. */
  readonly position: Position;
  /** Keep every frame (and its delay) of an animated input; else the first frame only. */
  readonly animated: boolean;
  /** Prepended (after DEST_PREFIX) to the source key: where this rendition's objects go. */
  readonly prefix: string;
}

/** The name of the single rendition the THUMB_* settings describe. */
export const DEFAULT_RENDITION_NAME = "default";

/**
 * The rendition of the THUMB_* settings (today's single thumbnail): written at the destination
 * prefix itself, first frame only, so existing deployments keep their keys and bytes.
 */
export function defaultRendition(options: ThumbnailOptions = DEFAULT_OPTIONS): Rendition {
  return {
    ...options,
    name: DEFAULT_RENDITION_NAME,
    position: "centre",
    animated: false,
    prefix: "",
  };
}

/**
 * A short, stable name for what a rendition's output looks like, written in each object's
 * metadata so reconciliation can tell an output made with other settings, e.g.
 * "256x256-inside-q80.jpeg" (the default's, unchanged since it was the only thumbnail's) or
 * "200x200-cover-attention-q80.webp". Name and prefix are not part of it: they say
 * where the output is, not what it is.
 */
export function renditionSpec(rendition: Rendition): string {
  const { width, height, fit, position, quality, background, animated, format } = rendition;
  return [
    `${width}x${height}-${fit}`,
    position === "centre" ? "" : `-${position}`,
    `-q${quality}`,
    background === DEFAULT_OPTIONS.background ? "" : `-bg${background.slice(1)}`,
    animated ? "-animated" : "",
    `.${format}`,
  ].join("");
}

/** The spec of the THUMB_* settings' single rendition. */
export function thumbnailSpec(options: ThumbnailOptions): string {
  return renditionSpec(defaultRendition(options));
}

/**
 * The RENDITIONS setting's row parser: JSON text (or, from cdktf.json's context, the array
 * itself, as JSON text). The list itself is checked by parseRenditions, whose errors name the
 * rendition and the field, where the setting is read.
 */
export const RENDITIONS_TEXT: Parser<string> = parser(
  'a JSON array of renditions, e.g. [{"name":"small","width":256,"height":256}] (docs/handler.md#renditions)',
  (raw) => {
    if (typeof raw === "string") return ok(raw);
    if (Array.isArray(raw)) return ok(JSON.stringify(raw));
    return { ok: false };
  },
);

const FIELDS = [
  "name",
  "width",
  "height",
  "fit",
  "position",
  "format",
  "quality",
  "background",
  "animated",
  "prefix",
] as const;

const NAME = /^[a-z0-9-]{1,32}$/;
const MAX_PREFIX_LENGTH = 256;

/**
 * Parses a JSON array of renditions (as a setting or flag holds it). `setting` names where it
 * came from (e.g. "RENDITIONS", "--renditions") in every error.
 */
export function parseRenditions(json: string, setting: string): Rendition[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw invalid(setting, `is not valid JSON (${reason}); expected an array of renditions`);
  }
  return validateRenditions(value, setting);
}

/**
 * Validates an already-parsed list (e.g. from cdktf.json's context). Throws ConfigError naming
 * the setting, the rendition and the field, with the accepted values.
 */
export function validateRenditions(value: unknown, setting: string): Rendition[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid(setting, `must be a non-empty JSON array of renditions, e.g. ${EXAMPLE}`);
  }
  const renditions = value.map((entry: unknown, index) => rendition(entry, index, setting));
  for (const [index, current] of renditions.entries()) {
    for (const earlier of renditions.slice(0, index)) {
      const where = `${setting}: renditions "${earlier.name}" and "${current.name}"`;
      if (earlier.name === current.name) {
        throw new ConfigError(`${where} have the same name; each name must be unique`);
      }
      // One prefix starting with another would let two source keys share an output key
      // ("" + "small/a.jpg" is "small/" + "a.jpg"), so removals could delete the wrong object.
      if (earlier.prefix.startsWith(current.prefix) || current.prefix.startsWith(earlier.prefix)) {
        throw new ConfigError(
          `${where} have overlapping prefixes (${JSON.stringify(earlier.prefix)}, ` +
            `${JSON.stringify(current.prefix)}); no prefix may start with another`,
        );
      }
    }
  }
  return renditions;
}

const EXAMPLE = '[{"name":"small","width":256,"height":256}]';

function rendition(entry: unknown, index: number, setting: string): Rendition {
  const label = `${setting}: rendition #${index + 1}`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new ConfigError(`${label} must be an object, e.g. ${EXAMPLE.slice(1, -1)}`);
  }
  const raw = entry as Record<string, unknown>;
  const { name } = raw;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ConfigError(
      `${label}: name must be 1-32 characters of a-z, 0-9 and "-", got ${show(name)}`,
    );
  }
  const fail = (field: string, detail: string) =>
    new ConfigError(`${setting}: rendition "${name}": ${field} ${detail}`);

  const unknown = Object.keys(raw).filter((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw fail(unknown.join(", "), `is not a rendition field; accepted: ${FIELDS.join(", ")}`);
  }
  for (const field of ["width", "height"] as const) {
    if (raw[field] === undefined) throw fail(field, `is required (1 to ${MAX_DIMENSION})`);
    if (typeof raw[field] !== "number") {
      throw fail(field, `must be a number from 1 to ${MAX_DIMENSION}, got ${show(raw[field])}`);
    }
  }
  for (const [field, choices] of [
    ["fit", FITS],
    ["format", FORMATS],
  ] as const) {
    if (raw[field] !== undefined && typeof raw[field] !== "string") {
      throw fail(field, `must be one of ${choices.join(", ")}, got ${show(raw[field])}`);
    }
  }
  if (raw.quality !== undefined && typeof raw.quality !== "number") {
    throw fail("quality", `must be a number from 1 to 100, got ${show(raw.quality)}`);
  }
  let options: ThumbnailOptions;
  try {
    options = resolveOptions({
      width: raw.width,
      height: raw.height,
      fit: raw.fit,
      format: raw.format,
      quality: raw.quality,
      background: raw.background,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`${setting}: rendition "${name}": ${error.message}`);
  }
  if (raw.quality !== undefined && !QUALITY_FORMATS.includes(options.format)) {
    throw fail(
      "quality",
      `does not apply to ${options.format}; only ${QUALITY_FORMATS.join(", ")} have a quality`,
    );
  }

  const position = raw.position ?? "centre";
  if (typeof position !== "string" || !(POSITIONS as readonly string[]).includes(position)) {
    throw fail("position", `must be one of ${POSITIONS.join(", ")}, got ${show(raw.position)}`);
  }
  if (raw.position !== undefined && options.fit !== "cover") {
    throw fail("position", `needs fit "cover": an "inside" fit keeps the whole image`);
  }

  const animated = raw.animated ?? false;
  if (typeof animated !== "boolean") {
    throw fail("animated", `must be true or false, got ${show(raw.animated)}`);
  }
  if (animated && !ANIMATED_FORMATS.includes(options.format)) {
    throw fail(
      "animated",
      `needs a format that can animate (${ANIMATED_FORMATS.join(", ")}); ` +
        `${options.format} holds one frame`,
    );
  }
  if (animated && position !== "centre") {
    throw fail(
      "position",
      `"${position}" cannot follow a subject across frames: an animated rendition crops at the centre`,
    );
  }

  const prefix = raw.prefix ?? `${name}/`;
  if (
    typeof prefix !== "string" ||
    prefix.length > MAX_PREFIX_LENGTH ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters
    /[\u0000-\u001f\u007f]/.test(prefix)
  ) {
    throw fail(
      "prefix",
      `must be a string of at most ${MAX_PREFIX_LENGTH} characters without control ` +
        `characters (default "${name}/"), got ${show(raw.prefix)}`,
    );
  }
  return { ...options, name, position: position as Position, animated, prefix };
}

function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

function invalid(setting: string, detail: string): ConfigError {
  return new ConfigError(`${setting} ${detail}`);
}
