/**
 * Colour management for pixels decoded outside libvips (HEIC). Raw pixels carry no ICC profile,
 * so sharp would take an iPhone's Display P3 values for sRGB and wash the colours out. Once the
 * image is thumbnail-sized, it is re-wrapped as a PNG that embeds the source's profile, and
 * libvips converts that to sRGB as it does for any tagged input.
 */
import { crc32, deflateSync } from "node:zlib";
import sharp, { type Sharp } from "sharp";

/** Renders `image` (already resized) and returns a new pipeline tagged with `icc`. */
export async function tagWithProfile(image: Sharp, icc: Buffer): Promise<Sharp> {
  const png = await image.png({ compressionLevel: 0 }).toBuffer();
  return sharp(insertIccProfile(png, icc), { failOn: "error" });
}

/** Inserts an iCCP chunk after IHDR (PNG requires it before any IDAT). */
function insertIccProfile(png: Buffer, icc: Buffer): Buffer {
  // 8-byte signature, then IHDR: length (4) + type (4) + 13 bytes of data + CRC (4).
  const afterIhdr = 8 + 4 + 4 + 13 + 4;
  // iCCP data: profile name, NUL, compression method 0 (zlib), compressed profile.
  const typeAndData = Buffer.concat([Buffer.from("iCCPicc\0\0", "latin1"), deflateSync(icc)]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(typeAndData.length - 4);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([
    png.subarray(0, afterIhdr),
    length,
    typeAndData,
    crc,
    png.subarray(afterIhdr),
  ]);
}
