/**
 * The plain sharp pipeline the targets are stated against: what a first thumbnailer looks like
 * (no configuration, checks or tuning). The engine benchmark's `sharp-plain` runner and the
 * cold-start reference handler both use it.
 */
import sharp from "sharp";

export function plainThumbnail(input: Buffer | Uint8Array): Promise<Buffer> {
  return sharp(input)
    .rotate()
    .resize(256, 256, { fit: "inside", withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();
}
