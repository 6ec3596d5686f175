/**
 * HEIC (HEVC-coded HEIF, the iPhone default). sharp's prebuilt libvips cannot decode HEVC, so
 * the pure-WebAssembly libheif in `heic-decode` decodes it to RGBA pixels that sharp then
 * resizes. The pixel limit is checked against the header before any pixel is decoded.
 */

import type { DecodedImage } from "heic-decode";
import { PermanentInputError } from "../errors";
import { checkPixels } from "./options";

type HeicDecode = typeof import("heic-decode");

// Loaded on first use: the WebAssembly bundle costs ~150 ms, which non-HEIC work should not pay.
let decoder: Promise<HeicDecode> | undefined;

/**
 * Decodes the image at `index` (the primary image, as the container's header names it).
 * Throws PermanentInputError: TOO_MANY_PIXELS before decoding, CORRUPT_INPUT if it cannot decode.
 */
export async function decodeHeic(
  input: Uint8Array,
  index: number,
  maxInputPixels: number,
): Promise<DecodedImage> {
  decoder ??= import("heic-decode").then((module) => module.default);
  const decode = await decoder;
  let images: Awaited<ReturnType<HeicDecode["all"]>>;
  try {
    images = await decode.all({ buffer: input });
  } catch (error) {
    throw corrupt(error);
  }
  try {
    const image = images[index] ?? images[0];
    if (!image) throw new PermanentInputError("CORRUPT_INPUT", "HEIC input contains no image");
    checkPixels(image.width, image.height, maxInputPixels);
    return await image.decode().catch((error: unknown) => {
      throw corrupt(error);
    });
  } finally {
    images.dispose();
  }
}

function corrupt(error: unknown): PermanentInputError {
  const reason = error instanceof Error ? error.message : String(error);
  return new PermanentInputError("CORRUPT_INPUT", `HEIC input could not be decoded: ${reason}`, {
    cause: error,
  });
}
