/**
 * Test images for the engine, generated in memory with sharp (and with Debian's heif-enc for
 * HEIC), plus helpers that read a thumbnail's pixels back.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import sharp, { type Sharp } from "sharp";

export type Rgb = readonly [number, number, number];
export type Corner = "top-left" | "top-right" | "bottom-right" | "bottom-left";

export const RED: Rgb = [255, 0, 0];
export const GREEN: Rgb = [0, 255, 0];
export const BLUE: Rgb = [0, 0, 255];
export const WHITE: Rgb = [255, 255, 255];

/** Raw RGB pixels of one colour with a square `marker` of another in the top-left corner. */
export function markedPixels(width: number, height: number, fill: Rgb, marker: Rgb): Buffer {
  const side = Math.floor(Math.min(width, height) / 3);
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(x < side && y < side ? marker : fill, (y * width + x) * 3);
    }
  }
  return data;
}

/** A width x height image, blue with a red marker in its stored top-left corner. */
export function markedImage(width: number, height: number): Sharp {
  return sharp(markedPixels(width, height, BLUE, RED), { raw: { width, height, channels: 3 } });
}

/** A solid image of one colour. */
export function solid(width: number, height: number, colour: Rgb): Sharp {
  const [r, g, b] = colour;
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } });
}

/** Photo-like content (noise) that compresses poorly, so truncation cuts real image data. */
export function noisy(width: number, height: number): Sharp {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: "#808080",
      noise: { type: "gaussian", mean: 128, sigma: 40 },
    },
  });
}

/**
 * Photo-like content that is the same bytes on every run (sharp's noise is random): coarse
 * pseudo-random grain upscaled smoothly. Width and height must be multiples of 8.
 */
export async function steadyPhoto(width: number, height: number): Promise<Sharp> {
  const grain = pseudoRandomBytes((width / 8) * (height / 8) * 3);
  const data = await sharp(grain, { raw: { width: width / 8, height: height / 8, channels: 3 } })
    .resize(width, height, { kernel: "cubic" })
    .raw()
    .toBuffer();
  return sharp(data, { raw: { width, height, channels: 3 } });
}

/** An animated image of `colours.length` frames, each frame one solid colour. */
export function animatedFrames(width: number, height: number, colours: readonly Rgb[]): Sharp {
  const frame = width * height * 3;
  const data = Buffer.alloc(frame * colours.length);
  colours.forEach((colour, page) => {
    for (let i = 0; i < width * height; i++) data.set(colour, page * frame + i * 3);
  });
  return sharp(data, {
    raw: { width, height: height * colours.length, channels: 3, pageHeight: height },
  });
}

/** A PNG whose left half is fully transparent and right half opaque `colour`. */
export function halfTransparentPng(width: number, height: number, colour: Rgb): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(x < width / 2 ? [0, 0, 0, 0] : [...colour, 255], (y * width + x) * 4);
    }
  }
  return sharp(data, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/**
 * A valid 1x1 PNG whose IHDR is rewritten (CRC included) to claim width x height: a
 * decompression bomb's header on a few bytes of data.
 */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await solid(1, 1, RED).png().toBuffer());
  // Signature (8), then IHDR: length (4), type (4) at 12, width at 16, height at 20, CRC at 29.
  if (png.toString("latin1", 12, 16) !== "IHDR") throw new Error("expected IHDR first");
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
  return png;
}

/** Deterministic pseudo-random bytes (a linear congruential generator), not image data. */
export function pseudoRandomBytes(length: number, seed = 42): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    bytes[i] = state >>> 16;
  }
  return bytes;
}

const execFileAsync = promisify(execFile);

/** Encodes a PNG as HEIC (HEVC) with Debian's heif-enc; extra flags go to heif-enc. */
export async function heicFromPng(png: Buffer, flags: readonly string[] = []): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "engine-heic-"));
  try {
    await writeFile(join(dir, "in.png"), png);
    const args = [...flags, "-o", join(dir, "out.heic"), join(dir, "in.png")];
    await execFileAsync("heif-enc", args).catch((error: unknown) => {
      // Duck-typed: errors from Node's child_process are not instances of the test realm's Error.
      if (
        typeof error === "object" &&
        error !== null &&
        "code" in error &&
        error.code === "ENOENT"
      ) {
        throw new Error("heif-enc not found: install Debian's libheif-examples (.ci/run does)");
      }
      throw error;
    });
    return await readFile(join(dir, "out.heic"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rewrites every "ispe" (image spatial extents) box of a HEIF file to claim width x height. */
export function heifClaiming(heif: Buffer, width: number, height: number): Buffer {
  const patched = Buffer.from(heif);
  let count = 0;
  for (let at = patched.indexOf("ispe"); at >= 0; at = patched.indexOf("ispe", at + 4)) {
    // "ispe" is a full box: type (4), version+flags (4), width (4), height (4).
    patched.writeUInt32BE(width, at + 8);
    patched.writeUInt32BE(height, at + 12);
    count++;
  }
  if (count === 0) throw new Error("no ispe box found");
  return patched;
}

export interface Pixels {
  width: number;
  height: number;
  channels: number;
  at(x: number, y: number): Rgb;
}

/** Decodes an encoded image to RGB pixels for assertions. */
export async function pixelsOf(image: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  return {
    width,
    height,
    channels,
    at(x, y) {
      const i = (y * width + x) * channels;
      return [data[i] ?? -1, data[i + 1] ?? -1, data[i + 2] ?? -1];
    },
  };
}

/** The colour near each corner (inset so resampling at the edges does not matter). */
export function cornerColour(pixels: Pixels, corner: Corner): Rgb {
  const inset = Math.max(1, Math.floor(Math.min(pixels.width, pixels.height) / 10));
  const x = corner.endsWith("left") ? inset : pixels.width - 1 - inset;
  const y = corner.startsWith("top") ? inset : pixels.height - 1 - inset;
  return pixels.at(x, y);
}

/** Largest per-channel difference between two colours. */
export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}

const NAMED: ReadonlyArray<readonly [string, Rgb]> = [
  ["red", RED],
  ["green", GREEN],
  ["blue", BLUE],
  ["white", WHITE],
  ["black", [0, 0, 0]],
];

/**
 * The name of the reference colour within `tolerance` (per channel) of `colour`, or a
 * description of it: assertions then read `expect(colourName(px)).toBe("red")`.
 */
export function colourName(colour: Rgb, tolerance = 24): string {
  for (const [name, reference] of NAMED) {
    if (colourDistance(colour, reference) <= tolerance) return name;
  }
  return `rgb(${colour.join(", ")})`;
}

/**
 * Whether an EXIF block (as sharp's metadata returns it, "Exif\0\0" then TIFF) holds a
 * GPSInfo IFD pointer (tag 0x8825). A byte search: good enough to check a test input.
 */
export function exifHasGps(exif: Buffer | undefined): boolean {
  if (!exif) return false;
  const littleEndian = exif.toString("latin1", 6, 8) === "II";
  return exif.includes(Buffer.from(littleEndian ? [0x25, 0x88] : [0x88, 0x25]));
}

/** "red", "green" or "blue" if that channel leads the other two by at least `margin`. */
export function dominantChannel(colour: Rgb, margin = 60): string {
  const [r, g, b] = colour;
  if (r >= g + margin && r >= b + margin) return "red";
  if (g >= r + margin && g >= b + margin) return "green";
  if (b >= r + margin && b >= g + margin) return "blue";
  return `none of rgb(${colour.join(", ")})`;
}
