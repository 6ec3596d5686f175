import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp, { type Sharp } from "sharp";
import { configureSharp, makeThumbnail, resolveOptions } from "../handler/engine";
import { isSrgbProfile } from "../handler/engine/srgb-profile";
import { noisy } from "./support/images";

// The process's entry point: what handler/index.ts, make and serve do at start-up.
beforeAll(configureSharp);

type Xyz = readonly [number, number, number];

const SRGB: Record<"r" | "g" | "b", Xyz> = {
  r: [0.4361, 0.2225, 0.0139],
  g: [0.3851, 0.7169, 0.0971],
  b: [0.1431, 0.0606, 0.7141],
};
// Adobe RGB (1998), D50-adapted: a wider gamut that must be converted.
const ADOBE_RGB: Record<"r" | "g" | "b", Xyz> = {
  r: [0.6097, 0.3111, 0.0195],
  g: [0.2053, 0.6257, 0.0609],
  b: [0.1492, 0.0632, 0.7446],
};

const fixed = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeInt32BE(Math.round(value * 65536));
  return out;
};
const xyzTag = (xyz: Xyz): Buffer =>
  Buffer.concat([Buffer.from("XYZ \0\0\0\0"), ...xyz.map(fixed)]);

/** `para` type 3, the piecewise curve the sRGB standard defines. */
const SRGB_PARA = Buffer.concat([
  Buffer.from("para\0\0\0\0\0\x03\0\0", "latin1"),
  ...[2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045].map(fixed),
]);

/** `curv` with a 1024-entry table, the form of the widespread "sRGB IEC61966-2.1" profile. */
function srgbTable(entries = 1024): Buffer {
  const head = Buffer.from("curv\0\0\0\0", "latin1");
  const count = Buffer.alloc(4);
  count.writeUInt32BE(entries);
  const table = Buffer.alloc(entries * 2);
  for (let i = 0; i < entries; i++) {
    const x = i / (entries - 1);
    const linear = x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    table.writeUInt16BE(Math.round(linear * 65535), i * 2);
  }
  return Buffer.concat([head, count, table]);
}

/** `curv` with one entry: a pure power law (u8Fixed8 gamma). */
function gammaCurve(gamma: number): Buffer {
  const out = Buffer.from("curv\0\0\0\0\0\0\0\x01\0\0\0\0", "latin1");
  out.writeUInt16BE(Math.round(gamma * 256), 12);
  return out;
}

/** A minimal matrix/TRC ICC profile (the header fields the check reads, then the tags). */
function iccProfile(options: {
  primaries?: Record<"r" | "g" | "b", Xyz>;
  curve?: Buffer;
  extraTags?: Record<string, Buffer>;
  colourSpace?: string;
}): Buffer {
  const { primaries = SRGB, curve = SRGB_PARA, extraTags = {}, colourSpace = "RGB " } = options;
  const tags: [string, Buffer][] = [
    ["rXYZ", xyzTag(primaries.r)],
    ["gXYZ", xyzTag(primaries.g)],
    ["bXYZ", xyzTag(primaries.b)],
    ["rTRC", curve],
    ["gTRC", curve],
    ["bTRC", curve],
    ...Object.entries(extraTags),
  ];
  const header = Buffer.alloc(128);
  header.write(colourSpace, 16, "latin1");
  header.write("XYZ ", 20, "latin1");
  header.write("acsp", 36, "latin1");
  const table = Buffer.alloc(4 + tags.length * 12);
  table.writeUInt32BE(tags.length);
  let offset = header.length + table.length;
  const data: Buffer[] = [];
  tags.forEach(([name, body], i) => {
    table.write(name, 4 + i * 12, "latin1");
    table.writeUInt32BE(offset, 8 + i * 12);
    table.writeUInt32BE(body.length, 12 + i * 12);
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    data.push(padded);
    offset += padded.length;
  });
  const profile = Buffer.concat([header, table, ...data]);
  profile.writeUInt32BE(profile.length, 0);
  return profile;
}

/** The profile libvips embeds for one of its built-in names (srgb, p3, cmyk). */
async function builtInProfile(name: string): Promise<Buffer> {
  const channels = name === "cmyk" ? 4 : 3;
  const image = sharp({ create: { width: 4, height: 4, channels, background: "#808080" } });
  const tiff = await (name === "cmyk" ? image.toColourspace("cmyk") : image)
    .withIccProfile(name)
    .tiff()
    .toBuffer();
  const { icc } = await sharp(tiff).metadata();
  if (!icc) throw new Error(`no ${name} profile embedded`);
  return icc;
}

describe("isSrgbProfile", () => {
  it("recognises libvips' own sRGB profile and sRGB written as a table or a parametric curve", async () => {
    expect(isSrgbProfile(await builtInProfile("srgb"))).toBe(true);
    expect(isSrgbProfile(iccProfile({ curve: SRGB_PARA }))).toBe(true);
    expect(isSrgbProfile(iccProfile({ curve: srgbTable() }))).toBe(true);
  });

  it("rejects other colour spaces: Display P3, CMYK, Adobe RGB", async () => {
    expect(isSrgbProfile(await builtInProfile("p3"))).toBe(false);
    expect(isSrgbProfile(await builtInProfile("cmyk"))).toBe(false);
    expect(isSrgbProfile(iccProfile({ primaries: ADOBE_RGB, curve: gammaCurve(2.2) }))).toBe(false);
  });

  it("rejects sRGB primaries with a curve that would change 8-bit values (gamma 2.2, linear)", () => {
    expect(isSrgbProfile(iccProfile({ curve: gammaCurve(2.2) }))).toBe(false);
    expect(isSrgbProfile(iccProfile({ curve: gammaCurve(1) }))).toBe(false);
    expect(isSrgbProfile(iccProfile({ curve: srgbTable(2) }))).toBe(false);
  });

  it("rejects primaries off by more than rounding", () => {
    const shifted = { ...SRGB, g: [0.3851, 0.7169 + 0.01, 0.0971] as const };
    expect(isSrgbProfile(iccProfile({ primaries: shifted }))).toBe(false);
  });

  it("rejects a profile with a lookup table, which lcms would use instead of the matrix", () => {
    const lut = Buffer.from("mft2\0\0\0\0", "latin1");
    expect(isSrgbProfile(iccProfile({ extraTags: { A2B0: lut } }))).toBe(false);
  });

  it("rejects a greyscale profile and malformed or truncated bytes without throwing", async () => {
    const srgb = await builtInProfile("srgb");
    expect(isSrgbProfile(iccProfile({ colourSpace: "GRAY" }))).toBe(false);
    expect(isSrgbProfile(srgb.subarray(0, 200))).toBe(false);
    expect(isSrgbProfile(Buffer.alloc(0))).toBe(false);
    expect(isSrgbProfile(Buffer.from("not a profile at all, just some text here"))).toBe(false);
  });
});

describe("makeThumbnail with an sRGB profile", () => {
  it("gives the pixels of the colour-managed conversion, skipped or not (within 1 level)", async () => {
    // Noisy content covers the tone range; the table-curve profile is not libvips' own, so
    // the reference is a genuine lcms transform from it. The gamma 1.8 profile is the control:
    // it must be converted, and reading it as sRGB would be visibly off.
    const gamma18 = iccProfile({ curve: gammaCurve(1.8) });
    const profiles = [await builtInProfile("srgb"), iccProfile({ curve: srgbTable() }), gamma18];
    for (const profile of profiles) {
      const tagged = await withProfile(noisy(640, 480), profile);
      expect((await sharp(tagged).metadata()).icc?.equals(profile)).toBe(true);

      const thumbnail = await makeThumbnail(tagged, resolveOptions({ format: "png" }));
      const ours = await sharp(thumbnail.data).raw().toBuffer();
      const reference = await sharp(tagged)
        .resize(256, 256, { fit: "inside" })
        .toColourspace("srgb")
        .raw()
        .toBuffer();

      expect(ours.length).toBe(256 * 192 * 3);
      expect(reference.length).toBe(ours.length);
      expect(maxDifference(ours, reference)).toBeLessThanOrEqual(1);
    }
    const gammaTagged = await withProfile(noisy(640, 480), gamma18);
    const readAsSrgb = await sharp(gammaTagged, { ignoreIcc: true })
      .resize(256, 256, { fit: "inside" })
      .raw()
      .toBuffer();
    const converted = await sharp(gammaTagged).resize(256, 256, { fit: "inside" }).raw().toBuffer();
    expect(maxDifference(readAsSrgb, converted)).toBeGreaterThan(5);
  });
});

/** `image` as a PNG with `icc` embedded (libvips attaches a profile given as a file). */
async function withProfile(image: Sharp, icc: Buffer): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "icc-"));
  try {
    const path = join(dir, "profile.icc");
    await writeFile(path, icc);
    return await image.withIccProfile(path, { attach: true }).png().toBuffer();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}
