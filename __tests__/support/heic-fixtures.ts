/**
 * The HEIC test images, committed under __tests__/fixtures/heic/ so that `npm test` needs no
 * HEVC encoder. Each row says how its file was made: HEIC_FIXTURES, a PNG from ./images.ts
 * encoded with Debian's heif-enc and the flags given; IPHONE_FIXTURES, iPhone-structured files
 * (a grid of tiles, a Display P3 profile, rotation, thumbnail items) written by
 * ./heif-container.ts around images heif-enc coded. __tests__/heic-fixtures.system.test.ts
 * (npm run test:system) checks every file against a fresh encode, and rewrites them with
 * UPDATE_HEIC_FIXTURES=1.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { type CodedImage, codedImage, type HeifLayout, heifFile } from "./heif-container";
import {
  BLUE,
  GREEN,
  halfTransparentPng,
  heicFromPng,
  markedImage,
  noisy,
  RED,
  type Rgb,
  solid,
  steadyPhoto,
} from "./images";

export const HEIC_FIXTURE_DIR = join(__dirname, "..", "fixtures", "heic");

export const HEIC_FIXTURES = {
  "marked-16x16": { png: () => markedImage(16, 16).png().toBuffer(), flags: [] },
  "marked-64x48": { png: () => markedImage(64, 48).png().toBuffer(), flags: [] },
  "marked-64x64": { png: () => markedImage(64, 64).png().toBuffer(), flags: [] },
  "marked-300x600": { png: () => markedImage(300, 600).png().toBuffer(), flags: [] },
  "marked-600x400-q90": { png: () => markedImage(600, 400).png().toBuffer(), flags: ["-q", "90"] },
  "marked-1200x900-q90": {
    png: () => markedImage(1200, 900).png().toBuffer(),
    flags: ["-q", "90"],
  },
  "noisy-128x128": { png: () => noisy(128, 128).png().toBuffer(), flags: [] },
  "red-300x200": { png: () => solid(300, 200, RED).png().toBuffer(), flags: [] },
  "red-300x200-p3-q95": {
    png: () => solid(300, 200, RED).withIccProfile("p3").png().toBuffer(),
    flags: ["-q", "95"],
  },
  "red-1200x900": { png: () => solid(1200, 900, RED).png().toBuffer(), flags: [] },
  "green-1200x900": { png: () => solid(1200, 900, GREEN).png().toBuffer(), flags: [] },
  "blue-1200x900": { png: () => solid(1200, 900, BLUE).png().toBuffer(), flags: [] },
  "green-4000x3000": { png: () => solid(4000, 3000, GREEN).png().toBuffer(), flags: [] },
  "green-half-transparent-200x100-10bit": {
    png: async () =>
      sharp(await halfTransparentPng(200, 100, GREEN))
        .toColourspace("rgb16")
        .png()
        .toBuffer(),
    flags: ["-q", "90", "-b", "10"],
  },
} as const satisfies Record<string, { png: () => Promise<Buffer>; flags: readonly string[] }>;

/** Quality of every coded image of IPHONE_FIXTURES: low, to keep the files tens of KB. */
const IPHONE_QUALITY = 50;

/**
 * The scene of IPHONE_FIXTURES (sRGB): smooth photo-like grain with a red square in its
 * top-left corner, a third of the short side; `extra`, when given, adds a square of that colour
 * in the bottom-right corner (what tells a thumbnail item apart from the primary).
 */
async function scene(width: number, height: number, extra?: Rgb): Promise<Buffer> {
  // steadyPhoto's grain made four times coarser: smooth, so the files stay small.
  const pixels = await (await steadyPhoto(width / 4, height / 4))
    .resize(width, height, { kernel: "cubic" })
    .raw()
    .toBuffer();
  const side = Math.floor(Math.min(width, height) / 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x < side && y < side) pixels.set(RED, (y * width + x) * 3);
      if (extra && x >= width - side && y >= height - side) pixels.set(extra, (y * width + x) * 3);
    }
  }
  return pixels;
}

/** sRGB values to Display P3 ones, as an iPhone stores them (sRGB red is P3's rgb(234, 51, 35)):
 * what sharp writes for a P3 output, without the profile kept. */
const displayP3 = (pixels: Buffer, width: number, height: number) =>
  sharp(pixels, { raw: { width, height, channels: 3 } })
    .withIccProfile("p3")
    .raw()
    .toBuffer();

/** Codes raw pixels (no profile) with heif-enc at `quality`. */
async function code(pixels: Buffer, width: number, height: number, quality: number) {
  const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return codedImage(await heicFromPng(png, ["-q", String(quality)]));
}

/** A scene's pixels scaled to width x height (a thumbnail's content). */
const scaled = (pixels: Buffer, from: [number, number], width: number, height: number) =>
  sharp(pixels, { raw: { width: from[0], height: from[1], channels: 3 } })
    .resize(width, height, { fit: "fill" })
    .raw()
    .toBuffer();

/** The Display P3 colr box heif-enc writes for a PNG with libvips' P3 profile. */
async function p3Colr(): Promise<Buffer> {
  const png = await solid(64, 64, RED).withIccProfile("p3").png().toBuffer();
  const { colr } = codedImage(await heicFromPng(png, ["-q", String(IPHONE_QUALITY)]));
  if (!colr) throw new Error("heif-enc wrote no colour profile");
  return colr;
}

/** The EXIF Orientation an iPhone writes beside each irot (counter-clockwise quarter turns). */
const EXIF_ORIENTATION = [1, 8, 3, 6] as const;

/** A camera's EXIF block ("Exif\0\0" and TIFF), with the Orientation matching `rotation`. */
async function iphoneExif(rotation: number): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } })
    .withExif({ IFD0: { Make: "Apple", Model: "iPhone 13" } })
    .withMetadata({ orientation: EXIF_ORIENTATION[rotation] ?? 1 })
    .jpeg()
    .toBuffer();
  const { exif } = await sharp(jpeg).metadata();
  if (!exif) throw new Error("sharp wrote no EXIF");
  return exif;
}

/** What an iPhone writes for a 4:3 landscape photo: 512x512 tiles, a 320x240 thumbnail item
 * and (some models) a second one in a 512 box. */
export const IPHONE = {
  tile: 512,
  thumbnails: [
    [320, 240],
    [512, 384],
  ] as [number, number][],
};

export interface IphoneLayout {
  /** Thumbnail items scaled from the image (IPHONE's for a 4:3 landscape photo). */
  thumbnails: [number, number][];
  /** Counter-clockwise quarter turns (irot) of the primary and its thumbnails. */
  rotation?: HeifLayout["rotation"];
  /** Side of the square tiles: IPHONE's 512, the committed files' 256 (the default). */
  tile?: number;
  /** heif-enc's -q for every coded image (IPHONE_QUALITY unless given). */
  quality?: number;
  /** Adds an iPhone-like EXIF item, its Orientation agreeing with `rotation`. */
  exif?: boolean;
}

/**
 * An iPhone-structured HEIC of sRGB `pixels` (stored as displayed before `rotation`): a grid
 * primary of square tiles, Display P3 values and profile, thumbnail items scaled from the image
 * and, if asked, EXIF. Shared by IPHONE_FIXTURES and the bench's corpus (bench/corpus.ts).
 */
export async function iphoneHeic(
  pixels: Buffer,
  width: number,
  height: number,
  { thumbnails, rotation = 0, tile = 256, quality = IPHONE_QUALITY, exif }: IphoneLayout,
): Promise<Buffer> {
  const p3 = await displayP3(pixels, width, height);
  const tiles: CodedImage[] = [];
  const [columns, rows] = [Math.ceil(width / tile), Math.ceil(height / tile)];
  // The last column and row overrun the image, as an iPhone's do (4032 is 7.875 tiles of 512):
  // their pixels past the edge repeat it, and the grid crops them.
  const padded = await sharp(p3, { raw: { width, height, channels: 3 } })
    .extend({ right: columns * tile - width, bottom: rows * tile - height, extendWith: "copy" })
    .raw()
    .toBuffer();
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const part = await sharp(padded, {
        raw: { width: columns * tile, height: rows * tile, channels: 3 },
      })
        .extract({ left: column * tile, top: row * tile, width: tile, height: tile })
        .raw()
        .toBuffer();
      tiles.push(await code(part, tile, tile, quality));
    }
  }
  return heifFile({
    primary: { columns, rows, tiles },
    width,
    height,
    colr: await p3Colr(),
    rotation,
    thumbnails: await Promise.all(
      thumbnails.map(async ([w, h]) => ({
        image: await code(await scaled(p3, [width, height], w, h), w, h, quality),
      })),
    ),
    ...(exif && { exif: await iphoneExif(rotation) }),
  });
}

/** iphoneHeic of the fixtures' scene. Width and height must be multiples of 32 (for the scene). */
async function iphoneGrid(
  width: number,
  height: number,
  thumbnails: [number, number][],
  rotation: HeifLayout["rotation"] = 0,
): Promise<Buffer> {
  return iphoneHeic(await scene(width, height), width, height, { thumbnails, rotation });
}

/**
 * A 512x384 primary (`height` 383: a grid of one tile, cropped) whose thumbnail item carries a
 * green square in its bottom-right corner that the primary lacks (`thumbnail`: its size;
 * `thumbnailRotation`: its own irot), so an output shows which of the two was decoded.
 */
async function markedThumbnail(
  [w, h]: [number, number],
  rotation: HeifLayout["rotation"] = 0,
  thumbnailRotation: HeifLayout["rotation"] = rotation,
  height = 384,
): Promise<Buffer> {
  const coded = [512, 384] as const;
  const primary = await code(
    await displayP3(await scene(...coded), ...coded),
    ...coded,
    IPHONE_QUALITY,
  );
  const marked = await displayP3(await scene(...coded, GREEN), ...coded);
  return heifFile({
    primary: height === coded[1] ? primary : { columns: 1, rows: 1, tiles: [primary] },
    width: coded[0],
    height,
    colr: await p3Colr(),
    rotation,
    thumbnails: [
      {
        image: await code(await scaled(marked, [...coded], w, h), w, h, IPHONE_QUALITY),
        rotation: thumbnailRotation,
      },
    ],
  });
}

/**
 * iPhone-structured HEIC files. An iPhone's 12 MP photo is a 4032x3024 grid of 512x512 tiles
 * with a Display P3 profile, a 320x240 thumbnail item (some models add one in a 512 box) and,
 * for portraits, a rotation; these are the same structure scaled down.
 */
export const IPHONE_FIXTURES = {
  /** A 4x3 grid with thumbnails of 320x240 and 512x384 (the 512 box). */
  "iphone-grid-1024x768-p3-thumbs": () => iphoneGrid(1024, 768, IPHONE.thumbnails, 0),
  /** The same, stored landscape and turned a quarter counter-clockwise (irot) to portrait. */
  "iphone-grid-1024x768-p3-thumbs-irot90": () => iphoneGrid(1024, 768, IPHONE.thumbnails, 1),
  /** 992x736 in 4x3 tiles of 256 that overrun it by 32 pixels each way, no thumbnail. */
  "iphone-grid-992x736-overrun": () => iphoneGrid(992, 736, []),
  /** The same turned a quarter: the overrun lies before the image's first row once turned. */
  "iphone-grid-992x736-overrun-irot90": () => iphoneGrid(992, 736, [], 1),
  /** The thumbnail item (320x240) differs: a green bottom-right corner. */
  "thumbnail-marked-512x384": () => markedThumbnail([320, 240]),
  /** The same, but the thumbnail is square: an aspect ratio the primary does not have. */
  "thumbnail-marked-square-512x384": () => markedThumbnail([240, 240]),
  /**
   * The primary is 512x383 (a grid of one 512x384 tile, cropped: how heif-enc codes odd
   * sizes): its 320x240 thumbnail is within a pixel of its aspect ratio.
   */
  "thumbnail-marked-512x383": () => markedThumbnail([320, 240], 0, 0, 383),
  /** The primary is turned half a turn (irot); its thumbnail item is not. */
  "thumbnail-marked-unrotated-512x384": () => markedThumbnail([320, 240], 2, 0),
} as const satisfies Record<string, () => Promise<Buffer>>;

export type HeicFixture = keyof typeof HEIC_FIXTURES | keyof typeof IPHONE_FIXTURES;

export function heicFixture(name: HeicFixture): Promise<Buffer> {
  return readFile(join(HEIC_FIXTURE_DIR, `${name}.heic`));
}
