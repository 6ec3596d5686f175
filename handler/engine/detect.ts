/**
 * Recognises an upload's container format from its first bytes (magic numbers), never from
 * its name or declared content type. Only raster formats the engine accepts are recognised;
 * anything else (SVG, PDF, PostScript, text, ...) is undefined and refused by the caller, so
 * vector or script-capable input never reaches a decoder.
 */

/** "heif" is the ISO-BMFF image container: AVIF (AV1) or HEIC (HEVC), told apart by its codec. */
export type Container = "jpeg" | "png" | "gif" | "webp" | "tiff" | "heif";

export const ACCEPTED_FORMATS = "JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC/HEIF";

// Brands of the ISO-BMFF "ftyp" box that mark a HEIF still image or sequence (ISO/IEC 23008-12,
// AV1 Image File Format): https://github.com/strukturag/libheif/issues/83
const HEIF_BRANDS = new Set([
  "mif1",
  "msf1",
  "miaf",
  "heic",
  "heix",
  "heim",
  "heis",
  "hevc",
  "hevx",
  "avif",
  "avis",
]);

export function detectContainer(bytes: Uint8Array): Container | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a") return "gif";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "webp";
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (
    startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) ||
    startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) ||
    startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])
  ) {
    return "tiff";
  }
  if (heifBrands(bytes).some((brand) => HEIF_BRANDS.has(brand))) return "heif";
  return undefined;
}

/** The major and compatible brands of a leading "ftyp" box, or [] if there is none. */
function heifBrands(bytes: Uint8Array): string[] {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== "ftyp") return [];
  const boxSize = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  const end = Math.min(boxSize, bytes.length, 256);
  const brands = [ascii(bytes, 8, 12)];
  for (let offset = 16; offset + 4 <= end; offset += 4)
    brands.push(ascii(bytes, offset, offset + 4));
  return brands;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}
