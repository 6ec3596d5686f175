/** Small real images for handler tests, generated with sharp (no fixture files to keep). */

import sharp from "sharp";

/** A solid-colour JPEG of the given size. */
export function jpeg(width: number, height: number, colour = "#c83228"): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
}

/** A real JPEG cut short: the header parses, the pixel data does not. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await sharp({
    create: {
      width: 640,
      height: 480,
      channels: 3,
      background: "#000000",
      noise: { type: "gaussian", mean: 128, sigma: 60 },
    },
  })
    .jpeg()
    .toBuffer();
  return whole.subarray(0, Math.floor(whole.length / 3));
}

/** Width, height, format and the colour of the centre pixel of an encoded image. */
export async function describeImage(
  data: Uint8Array,
): Promise<{ width: number; height: number; format: string; centre: number[] }> {
  const image = sharp(data);
  const { width, height, format } = await image.metadata();
  const { data: pixels, info } = await image.raw().toBuffer({ resolveWithObject: true });
  const offset =
    (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  return { width, height, format, centre: [...pixels.subarray(offset, offset + 3)] };
}
