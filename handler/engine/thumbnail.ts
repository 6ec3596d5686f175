/**
 * The rendition pipeline: check the bytes, read the header, decode once (shrinking on load
 * where the format allows), then per rendition: resize, crop, flatten onto the background,
 * convert to 8-bit sRGB and encode. The process must have called configureSharp() first (no
 * cache, only the accepted loaders).
 */
import sharp, { type Metadata, type Sharp } from "sharp";
import { PermanentInputError, tooLarge } from "../errors";
import { attentionCrop } from "./attention";
import { tagWithProfile } from "./colour-profile";
import { assertSharpConfigured } from "./configure-sharp";
import { ACCEPTED_FORMATS, type Container, detectContainer } from "./detect";
import { decodeHeic } from "./heic";
import {
  checkLimits,
  DEFAULT_LIMITS,
  DEFAULT_OPTIONS,
  type Limits,
  type OutputFormat,
  pixelLimitError,
  type ThumbnailOptions,
} from "./options";
import { defaultRendition, type Position, type Rendition } from "./renditions";
import { isSrgbProfile } from "./srgb-profile";

export interface InputInfo {
  /** Detected by content: jpeg, png, webp, gif, tiff, avif or heic. */
  format: string;
  /** As displayed, after EXIF orientation (of one frame). */
  width: number;
  height: number;
  bytes: number;
}

export interface RenditionOutput {
  rendition: Rendition;
  data: Buffer;
  /** Of one frame. */
  width: number;
  height: number;
  /** 1 unless an animated rendition of an animated input. */
  frames: number;
  format: OutputFormat;
  contentType: string;
}

export interface Renditions {
  input: InputInfo;
  /** In the order of the renditions asked for, less those in `failures`. */
  outputs: RenditionOutput[];
  /**
   * Renditions this input cannot give while the others can (an animated rendition of frames
   * over the pixel limit), each with its own reason. Empty when every rendition was made.
   */
  failures: RenditionFailure[];
}

export interface RenditionFailure {
  rendition: Rendition;
  error: PermanentInputError;
}

export interface Thumbnail {
  data: Buffer;
  width: number;
  height: number;
  format: OutputFormat;
  contentType: string;
  input: InputInfo;
}

const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: "image/jpeg",
  webp: "image/webp",
  avif: "image/avif",
  png: "image/png",
  gif: "image/gif",
};

/**
 * Makes every rendition of an upload's bytes from one decode. Throws PermanentInputError
 * (EMPTY_INPUT, INPUT_TOO_LARGE, TOO_MANY_PIXELS, UNSUPPORTED_FORMAT, CORRUPT_INPUT) for bad
 * input and ConfigError for unusable limits. When only the animated renditions cannot be made
 * (every frame's pixels over the limit), the others are, from the first frame, and those are
 * returned in `failures`; when no rendition can be made, the error is thrown.
 *
 * With one rendition the pipeline runs straight from the decoder, as the single thumbnail
 * always has (same bytes). With several, the input is decoded once and scaled to the smallest
 * size every rendition can be made from without enlarging; each rendition resizes that copy.
 */
export async function makeRenditions(
  input: Uint8Array,
  renditions: readonly Rendition[],
  limits: Limits = DEFAULT_LIMITS,
): Promise<Renditions> {
  assertSharpConfigured();
  checkLimits(limits);
  if (input.byteLength === 0) {
    throw new PermanentInputError("EMPTY_INPUT", "Input is empty (0 bytes)");
  }
  if (input.byteLength > limits.maxInputBytes) {
    throw tooLarge(input.byteLength, limits.maxInputBytes, "maxInputBytes");
  }
  const container = detectContainer(input);
  if (container === undefined) {
    throw new PermanentInputError(
      "UNSUPPORTED_FORMAT",
      `Input is not a supported image (${ACCEPTED_FORMATS}); formats are recognised by content, not by name`,
    );
  }

  const source = await open(input, container, limits, renditions);
  const refused = source.framesRefused;
  const failures = refused
    ? renditions.filter((r) => r.animated).map((rendition) => ({ rendition, error: refused }))
    : [];
  const made = refused ? renditions.filter((rendition) => !rendition.animated) : renditions;
  if (refused && made.length === 0) {
    source.release?.();
    throw refused;
  }
  const outputs: RenditionOutput[] = [];
  try {
    const decoded = made.length === 1 ? direct(source) : await shared(source, made);
    for (const rendition of made) {
      // A subject found here is cropped to already: the rendition resizes at the centre.
      const subject = rendition.position === "attention" ? decoded.subject?.(rendition) : undefined;
      const image = subject ?? (rendition.animated ? decoded.allFrames() : decoded.firstFrame());
      outputs.push(await render(image, rendition, source, subject ? "centre" : undefined));
    }
  } catch (error) {
    throw decodeError(source.format, error, limits);
  } finally {
    source.release?.();
  }
  const { format, width, height } = source;
  return { input: { format, width, height, bytes: input.byteLength }, outputs, failures };
}

/** Makes one thumbnail with the THUMB_* options: the default rendition. */
export async function makeThumbnail(
  input: Uint8Array,
  options: ThumbnailOptions = DEFAULT_OPTIONS,
  limits: Limits = DEFAULT_LIMITS,
): Promise<Thumbnail> {
  const made = await makeRenditions(input, [defaultRendition(options)], limits);
  const [{ data, width, height, format, contentType }] = made.outputs as [RenditionOutput];
  return { data, width, height, format, contentType, input: made.input };
}

interface Source {
  image: Sharp;
  format: string;
  /** Of one frame, as displayed. */
  width: number;
  height: number;
  /** More than 1 only when every frame of an animated input is decoded. */
  frames: number;
  /** Per frame in milliseconds, and the loop count (0: forever), when frames > 1. */
  delay?: number[];
  loop?: number;
  /** Set when the pixels were decoded outside libvips and so lost their colour profile. */
  iccProfile?: Buffer;
  /** Set when the pixels live outside the input (HEIC): call once the pipeline is done. */
  release?: () => void;
  /** Every frame was asked for but their pixels are over the limit: only the first is loaded. */
  framesRefused?: PermanentInputError;
}

/** The decoded pixels that renditions are made from. */
interface Decoded {
  firstFrame(): Sharp;
  allFrames(): Sharp;
  /**
   * The first frame cropped to the window an `attention` rendition keeps, found on the pixels in
   * hand (attention.ts); undefined when the rendition would enlarge them (libvips decides then).
   */
  subject?(rendition: Rendition): Sharp | undefined;
}

/** One rendition: resized straight from the decoder, which loaded the frames it needs. */
function direct(source: Source): Decoded {
  return { firstFrame: () => source.image, allFrames: () => source.image };
}

/**
 * The smallest size (of an image of `width` x `height` as displayed, never larger) that every
 * rendition can be made from without enlarging: the image scaled by the largest factor any
 * rendition needs, rounded up.
 */
export function neededSize(
  renditions: readonly Rendition[],
  width: number,
  height: number,
): { width: number; height: number } {
  const needed = renditions.map((rendition) => {
    const x = rendition.width / width;
    const y = rendition.height / height;
    return rendition.fit === "cover" ? Math.max(x, y) : Math.min(x, y);
  });
  const scale = Math.min(1, Math.max(...needed));
  return { width: Math.ceil(width * scale), height: Math.ceil(height * scale) };
}

/**
 * Several renditions: one decode, scaled to what the most demanding rendition needs (never
 * enlarged) and converted to 8-bit sRGB with any alpha kept, held as raw pixels that each
 * rendition resizes, flattens and encodes on its own.
 */
async function shared(source: Source, renditions: readonly Rendition[]): Promise<Decoded> {
  // "outside" keeps the aspect ratio with neither side under the rounded-up target, so no
  // rendition comes out a pixel short of its box.
  let pipeline = source.image.resize({
    ...neededSize(renditions, source.width, source.height),
    fit: "outside",
    withoutEnlargement: true,
  });
  if (source.iccProfile) pipeline = await tagWithProfile(pipeline, source.iccProfile);
  const { data, info } = await pipeline
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const frameHeight = info.pageHeight ?? height;
  // The upload has passed the pixel limit; these are its own, smaller, pixels.
  const raw = (pixels: Buffer, rows: number): Sharp => {
    // Several frames: sharp resizes each one when told their height and to take them all.
    const frames = rows > frameHeight ? { pageHeight: frameHeight } : {};
    return sharp(pixels, {
      raw: { width, height: rows, channels, ...frames },
      ...(rows > frameHeight && { pages: -1 }),
      limitInputPixels: false,
    });
  };
  const firstFrame = () => raw(data.subarray(0, width * frameHeight * channels), frameHeight);
  return {
    firstFrame,
    allFrames: () => raw(data, height),
    subject: (rendition) => {
      // The window of the copy that a cover resize to the rendition's box keeps.
      const scale = Math.max(rendition.width / width, rendition.height / frameHeight);
      if (scale > 1 || channels < 3) return undefined;
      const crop = {
        width: Math.min(width, Math.round(rendition.width / scale)),
        height: Math.min(frameHeight, Math.round(rendition.height / scale)),
      };
      const pixels = { data, width, height: frameHeight, channels };
      const { left, top } = attentionCrop(
        pixels,
        crop.width,
        crop.height,
        rgb(rendition.background),
      );
      return firstFrame().extract({ left, top, ...crop });
    },
  };
}

/** "#rrggbb" as three 0-255 values. */
function rgb(colour: string): [number, number, number] {
  const value = Number.parseInt(colour.slice(1, 7), 16);
  return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

/**
 * Resizes, flattens onto the background, converts to 8-bit sRGB and encodes one rendition.
 * `position` overrides the rendition's when the image has been cropped to its subject already.
 */
async function render(
  image: Sharp,
  rendition: Rendition,
  source: Source,
  position: Position = rendition.position,
): Promise<RenditionOutput> {
  let pipeline = image
    .resize({
      width: rendition.width,
      height: rendition.height,
      fit: rendition.fit,
      ...(position !== "centre" && { position }),
      withoutEnlargement: true,
    })
    .flatten({ background: rendition.background });
  // Straight from the decoder, pixels decoded outside libvips are tagged with their profile
  // here; the shared copy has been converted already.
  if (source.iccProfile && image === source.image) {
    pipeline = await tagWithProfile(pipeline, source.iccProfile);
  }
  // 8-bit sRGB whatever the input (CMYK, 16-bit, grey, wide gamut): sharp's default today,
  // stated because the output contract depends on it.
  const animation = rendition.animated && source.frames > 1 ? source : undefined;
  const { data, info } = await encode(
    pipeline.toColourspace("srgb"),
    rendition,
    animation,
  ).toBuffer({ resolveWithObject: true });
  return {
    rendition,
    data,
    width: info.width,
    height: (info.pages ?? 1) > 1 ? (info.pageHeight ?? info.height) : info.height,
    frames: info.pages ?? 1,
    format: rendition.format,
    contentType: CONTENT_TYPES[rendition.format],
  };
}

/**
 * Reads the header (dimensions, codec, orientation, frames) and sets up a single decode: of
 * the first frame, or when a rendition is animated of every frame of an animated GIF or WebP,
 * whose pixels then all count against the limit; of a HEIC, of the smallest representation
 * that the renditions can be made from.
 */
async function open(
  input: Uint8Array,
  container: Container,
  limits: Limits,
  renditions: readonly Rendition[],
): Promise<Source> {
  const allFrames = renditions.some((rendition) => rendition.animated);
  const load = (ignoreIcc: boolean, pages = 1) =>
    sharp(input, {
      // Truncated or corrupt pixel data is an error, not a grey half-image; mere warnings
      // (common in camera JPEGs) are tolerated.
      failOn: "error",
      limitInputPixels: limits.maxInputPixels,
      autoOrient: true,
      // First frame only of animated GIF/WebP and multi-page TIFF, unless all are asked for.
      pages,
      ignoreIcc,
    });
  const image = load(false);
  let metadata: Metadata;
  try {
    metadata = await image.metadata();
  } catch (error) {
    throw decodeError(container, error, limits);
  }
  if (metadata.format !== container) {
    throw new PermanentInputError(
      "CORRUPT_INPUT",
      `Input starts like ${container} but decodes as ${String(metadata.format)}`,
    );
  }
  // No pixel check needed here: metadata() has already refused a header over limitInputPixels.
  const { width, height } = metadata.autoOrient;
  // An sRGB profile would be converted to sRGB: an identity that costs a pass over the pixels.
  const srgbProfile = metadata.icc !== undefined && isSrgbProfile(metadata.icc);

  const pages = metadata.pages ?? 1;
  const animated = allFrames && pages > 1 && (container === "gif" || container === "webp");
  // A frame's pixels cost what a still image's do: 10,000 small frames are a bomb too. Over the
  // limit, only the first frame is loaded, for the still renditions.
  const framesRefused = animated
    ? pixelLimitError(width, height, limits.maxInputPixels, pages)
    : undefined;
  if (animated && framesRefused === undefined) {
    return {
      image: load(srgbProfile, -1),
      format: container,
      width,
      height,
      frames: pages,
      delay: metadata.delay ?? [],
      loop: metadata.loop ?? 0,
    };
  }
  if (container !== "heif" || metadata.compression === "av1") {
    const format = container === "heif" ? "avif" : container;
    return {
      image: srgbProfile ? load(true) : image,
      format,
      width,
      height,
      frames: 1,
      ...(framesRefused && { framesRefused }),
    };
  }
  if (metadata.compression !== "hevc") {
    throw new PermanentInputError(
      "UNSUPPORTED_FORMAT",
      `HEIF input uses codec ${String(metadata.compression)}; supported: HEVC (HEIC), AV1 (AVIF)`,
    );
  }
  return openHeic(input, metadata, limits, renditions);
}

/**
 * A HEIC, decoded by libheif: its embedded thumbnail when that is large enough for every
 * rendition (unless limits.heicThumbnails is false), else the primary image. Either way the
 * primary's size is the input's, and its colour profile (read by libvips from the primary)
 * is applied to the pixels.
 */
async function openHeic(
  input: Uint8Array,
  metadata: Metadata,
  limits: Limits,
  renditions: readonly Rendition[],
): Promise<Source> {
  const decoded = await decodeHeic(input, {
    index: metadata.pagePrimary ?? 0,
    maxInputPixels: limits.maxInputPixels,
    needed: (width: number, height: number) => neededSize(renditions, width, height),
    thumbnails: limits.heicThumbnails !== false,
  });
  const { icc } = metadata;
  return {
    image: sharp(decoded.data, {
      raw: { width: decoded.width, height: decoded.height, channels: decoded.channels },
    }),
    format: "heic",
    width: decoded.primaryWidth,
    height: decoded.primaryHeight,
    frames: 1,
    ...(icc && !isSrgbProfile(icc) && { iccProfile: icc }),
    release: decoded.release,
  };
}

/** libwebp's effort (its "method"), 0-6: see encode(). */
const WEBP_EFFORT = 2;

/** `animation` (the source's frame delays and loop count) when every frame is kept. */
function encode(
  pipeline: Sharp,
  { format, quality }: ThumbnailOptions,
  animation?: Pick<Source, "delay" | "loop">,
): Sharp {
  const frames = animation && { delay: animation.delay, loop: animation.loop };
  switch (format) {
    case "jpeg":
      // libjpeg-turbo, not mozjpeg: measured ~10x faster to encode a 256px thumbnail (about 2 ms
      // against 20 ms) for files about 20% larger.
      return pipeline.jpeg({ quality, mozjpeg: false });
    case "webp":
      // Effort 2 of 0-6 (libwebp's "method"; sharp's default is 4): measured 40-50% less CPU
      // per 200x200 encode (3.3 against 6.0 ms) for files 4-5% larger at the same quality;
      // efforts 0-1 save another 0.5 ms for files 15-20% larger (docs/decisions.md).
      return pipeline.webp({ quality, effort: WEBP_EFFORT, ...frames });
    case "avif":
      return pipeline.avif({ quality });
    case "png":
      return pipeline.png();
    case "gif":
      return pipeline.gif({ ...frames });
  }
}

/** Maps a libvips failure on this input to a permanent error that says what went wrong. */
function decodeError(format: string, error: unknown, limits: Limits): PermanentInputError {
  const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
  if (/exceeds pixel limit/i.test(reason)) {
    return new PermanentInputError(
      "TOO_MANY_PIXELS",
      `Input (${format}) has more pixels than the limit of ${limits.maxInputPixels}`,
      { cause: error },
    );
  }
  return new PermanentInputError(
    "CORRUPT_INPUT",
    `Input could not be decoded as ${format}: ${reason}`,
    {
      cause: error,
    },
  );
}
