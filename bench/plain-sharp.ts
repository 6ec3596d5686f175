/** The plain sharp pipeline the targets are stated against: a first thumbnailer (no
 * configuration, checks or tuning), for `sharp-plain` and the cold-start reference handler. */
import sharp from "sharp";

export function plainThumbnail(input: Buffer | Uint8Array): Promise<Buffer> {
  return sharp(input)
    .rotate()
    .resize(256, 256, { fit: "inside", withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();
}
