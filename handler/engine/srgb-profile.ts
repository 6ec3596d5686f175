/**
 * Recognises ICC profiles that describe sRGB, so the engine can skip a colour transform that
 * would change nothing. Many cameras, phones and "save for web" exports embed an sRGB profile;
 * converting such an image "to sRGB" costs a profile parse, a transform build and a pass over
 * every decoded pixel (about 3-6 ms on a small JPEG, measured) for output that rounds to the
 * same 8-bit values.
 *
 * The test is by content, not by name: a matrix/TRC RGB profile whose primaries match sRGB's
 * (D50-adapted, as ICC stores them) and whose three tone curves map every 8-bit input to the
 * same 8-bit sRGB value. Anything else (LUT-based profiles, other primaries or curves,
 * malformed data) is "not sRGB" and is converted as before.
 */

/** sRGB primaries in the ICC profile connection space (D50), as in the ICC's sRGB profiles. */
const SRGB_PRIMARIES = {
  rXYZ: [0.43607, 0.22249, 0.01392],
  gXYZ: [0.38515, 0.71687, 0.09708],
  bXYZ: [0.14307, 0.06061, 0.7141],
} as const;

/** Largest difference in a primary's X, Y or Z still treated as sRGB (well under 1/255). */
const PRIMARY_TOLERANCE = 0.002;

/**
 * Tags that make lcms use a lookup table instead of the matrix and curves for at least one
 * rendering intent; such a profile is never skipped.
 */
const LUT_TAGS = ["A2B0", "A2B1", "A2B2", "D2B0", "D2B1", "D2B2"];

export function isSrgbProfile(icc: Uint8Array): boolean {
  try {
    return describesSrgb(new DataView(icc.buffer, icc.byteOffset, icc.byteLength));
  } catch {
    // Out-of-range reads: a truncated or malformed profile is left to libvips.
    return false;
  }
}

function describesSrgb(view: DataView): boolean {
  if (
    tagName(view, 36) !== "acsp" ||
    tagName(view, 16) !== "RGB " ||
    tagName(view, 20) !== "XYZ "
  ) {
    return false;
  }
  const tags = readTagTable(view);
  if (LUT_TAGS.some((tag) => tags.has(tag))) return false;
  for (const [tag, expected] of Object.entries(SRGB_PRIMARIES)) {
    const xyz = readXyz(view, tags.get(tag));
    if (
      xyz === undefined ||
      xyz.some((value, i) => Math.abs(value - (expected[i] ?? 0)) > PRIMARY_TOLERANCE)
    ) {
      return false;
    }
  }
  return ["rTRC", "gTRC", "bTRC"].every((tag) => {
    const curve = readCurve(view, tags.get(tag));
    return curve !== undefined && matchesSrgbCurve(curve);
  });
}

function tagName(view: DataView, offset: number): string {
  return String.fromCharCode(
    view.getUint8(offset),
    view.getUint8(offset + 1),
    view.getUint8(offset + 2),
    view.getUint8(offset + 3),
  );
}

/** Tag signature -> offset of its data. */
function readTagTable(view: DataView): Map<string, number> {
  const count = view.getUint32(128);
  const tags = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const entry = 132 + i * 12;
    tags.set(tagName(view, entry), view.getUint32(entry + 4));
  }
  return tags;
}

function s15Fixed16(view: DataView, offset: number): number {
  return view.getInt32(offset) / 65536;
}

function readXyz(view: DataView, offset: number | undefined): number[] | undefined {
  if (offset === undefined || tagName(view, offset) !== "XYZ ") return undefined;
  return [0, 1, 2].map((i) => s15Fixed16(view, offset + 8 + i * 4));
}

/** A tone curve (`curv` or `para`) as a function from encoded [0, 1] to linear [0, 1]. */
function readCurve(
  view: DataView,
  offset: number | undefined,
): ((x: number) => number) | undefined {
  if (offset === undefined) return undefined;
  const type = tagName(view, offset);
  if (type === "curv") {
    const count = view.getUint32(offset + 8);
    if (count === 0) return (x) => x;
    if (count === 1) {
      const gamma = view.getUint16(offset + 12) / 256;
      return (x) => x ** gamma;
    }
    const table = Array.from(
      { length: count },
      (_, i) => view.getUint16(offset + 12 + i * 2) / 65535,
    );
    return (x) => {
      const position = x * (count - 1);
      const below = Math.floor(position);
      const low = table[below] ?? 1;
      const high = table[Math.min(below + 1, count - 1)] ?? 1;
      return low + (high - low) * (position - below);
    };
  }
  if (type === "para") {
    const kind = view.getUint16(offset + 8);
    const arity = [1, 3, 4, 5, 7][kind];
    if (arity === undefined) return undefined;
    const [g = 1, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = Array.from(
      { length: arity },
      (_, i) => s15Fixed16(view, offset + 12 + i * 4),
    );
    // ICC.1:2022 table 68: the five parametric curve types.
    switch (kind) {
      case 0:
        return (x) => x ** g;
      case 1:
        return (x) => (x >= -b / a ? (a * x + b) ** g : 0);
      case 2:
        return (x) => (x >= -b / a ? (a * x + b) ** g + c : c);
      case 3:
        return (x) => (x >= d ? (a * x + b) ** g : c * x);
      default:
        return (x) => (x >= d ? (a * x + b) ** g + e : c * x + f);
    }
  }
  return undefined;
}

/** True when decoding with `curve` and re-encoding as sRGB gives back every 8-bit value. */
function matchesSrgbCurve(curve: (x: number) => number): boolean {
  for (let value = 0; value < 256; value++) {
    const roundTrip = srgbEncode(curve(value / 255)) * 255;
    if (!(Math.abs(roundTrip - value) < 0.5)) return false;
  }
  return true;
}

/** The sRGB transfer function (IEC 61966-2-1), linear to encoded. */
function srgbEncode(linear: number): number {
  const clamped = Math.min(Math.max(linear, 0), 1);
  return clamped <= 0.0031308 ? clamped * 12.92 : 1.055 * clamped ** (1 / 2.4) - 0.055;
}
