/**
 * Mixed uploads for the local tools' tests (CLI make, local service): real images generated
 * with sharp, each with the thumbnail size it must produce, and bad inputs with the error code
 * they must be recorded with.
 */

import sharp from "sharp";
import { truncatedJpeg } from "./handler-images";
import { halfTransparentPng, markedImage, pngClaiming } from "./images";

export interface GoodImage {
  readonly name: string;
  readonly data: Buffer;
  /** The thumbnail's size with the default options (fits inside 256x256). */
  readonly width: number;
  readonly height: number;
}

export interface BadInput {
  readonly name: string;
  readonly data: Buffer;
  readonly code: string;
}

/** Landscape JPEG, portrait PNG, EXIF-rotated JPEG (stored 400x200, shown 200x400), WebP, alpha PNG. */
export async function goodImages(): Promise<GoodImage[]> {
  return [
    {
      name: "landscape.jpg",
      data: await markedImage(640, 480).jpeg().toBuffer(),
      width: 256,
      height: 192,
    },
    {
      name: "portrait.png",
      data: await markedImage(300, 600).png().toBuffer(),
      width: 128,
      height: 256,
    },
    {
      name: "rotated.jpg",
      data: await markedImage(400, 200).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      width: 128,
      height: 256,
    },
    {
      name: "square.webp",
      data: await markedImage(512, 512).webp().toBuffer(),
      width: 256,
      height: 256,
    },
    {
      name: "alpha.png",
      data: await halfTransparentPng(200, 100, [0, 0, 255]),
      width: 200,
      height: 100,
    },
  ];
}

/** Corrupt, empty, SVG, text named .jpg, and a decompression bomb's header (40000x40000). */
export async function badInputs(): Promise<BadInput[]> {
  return [
    { name: "corrupt.jpg", data: await truncatedJpeg(), code: "CORRUPT_INPUT" },
    { name: "empty.png", data: Buffer.alloc(0), code: "EMPTY_INPUT" },
    {
      name: "drawing.svg",
      data: Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>',
      ),
      code: "UNSUPPORTED_FORMAT",
    },
    {
      name: "notes.jpg",
      data: Buffer.from("these are not the pixels you are looking for\n"),
      code: "UNSUPPORTED_FORMAT",
    },
    { name: "bomb.png", data: await pngClaiming(40_000, 40_000), code: "TOO_MANY_PIXELS" },
  ];
}

/** Size and format of an encoded image as displayed. */
export async function imageInfo(
  data: Uint8Array,
): Promise<{ width: number; height: number; format: string }> {
  const { width, height, format } = await sharp(data).metadata();
  return { width, height, format };
}
