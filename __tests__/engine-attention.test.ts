import sharp from "sharp";
import { configureSharp, makeRenditions, parseRenditions } from "../handler/engine";
import * as attention from "../handler/engine/attention";
import { pixelsOf, pseudoRandomBytes } from "./support/images";

beforeAll(configureSharp);

interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
}

const SUBJECT: [number, number, number][] = [
  [230, 40, 40],
  [250, 200, 160],
];

/** Flat grey `width` x `height` with a saturated 120x120 subject (a checkerboard of 32 px
 * squares) centred at `x` (and at `centreY`, by default the middle). */
function subjectAt(x: number, width = 1600, height = 900, centreY = height / 2): RawImage {
  const data = Buffer.alloc(width * height * 3, 200);
  const top = Math.round(centreY - 60);
  for (let y = top; y < top + 120; y++) {
    for (let i = x - 60; i < x + 60; i++) {
      data.set(SUBJECT[((i >> 5) + (y >> 5)) % 2] ?? [0, 0, 0], (y * width + i) * 3);
    }
  }
  return { data, width, height, channels: 3 };
}

async function subjectPixels(image: Buffer): Promise<number> {
  const pixels = await pixelsOf(image);
  let count = 0;
  for (let y = 0; y < pixels.height; y++) {
    for (let x = 0; x < pixels.width; x++) {
      const [r, g] = pixels.at(x, y);
      if (r > 180 && g < 90) count++;
    }
  }
  return count;
}

const jpeg = ({ data, width, height, channels }: RawImage) =>
  sharp(data, { raw: { width, height, channels } }).jpeg({ quality: 90 }).toBuffer();

describe("attention crops of renditions made from the shared copy", () => {
  it.each([
    ["left", 160],
    ["right", 1440],
  ])("keeps a subject at the %s in the square; centre cuts it out", async (_, x) => {
    const input = await jpeg(subjectAt(x));
    const list = parseRenditions(
      JSON.stringify([
        { name: "small", width: 256, height: 256 },
        { name: "square", width: 200, height: 200, fit: "cover", position: "attention" },
        { name: "centre", width: 200, height: 200, fit: "cover" },
      ]),
      "RENDITIONS",
    );

    const { outputs } = await makeRenditions(input, list);

    expect(outputs.map((o) => [o.rendition.name, o.width, o.height])).toEqual([
      ["small", 256, 144],
      ["square", 200, 200],
      ["centre", 200, 200],
    ]);
    // The subject is 120x120 of 1600x900 shrunk to 356x200 (about 27x27), half of it red.
    const [square, centre] = await Promise.all(outputs.slice(1).map((o) => subjectPixels(o.data)));
    expect(square).toBeGreaterThan(250);
    expect(centre).toBe(0);
  });
});

/** Mid grey with faint texture and a soft skin-toned disc (no hard edges) of radius `r` at x, y. */
function softSubjectAt(x: number, y: number, width: number, height: number, r = 45): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const grain = ((i * 7 + j * 13) % 9) - 4;
      const inside = Math.max(0, 1 - Math.hypot(i - x, j - y) / r);
      const mix = (skin: number) =>
        Math.round(120 + grain + (skin - 120) * Math.min(1, inside * 2));
      data.set([mix(224), mix(172), mix(140)], (j * width + i) * 3);
    }
  }
  return { data, width, height, channels: 3 };
}

/** `pixels` (sRGB) scaled, each, to the relative luminance `y`: only their colour differs; with
 * `dark`, every other pixel to that luminance instead. */
function atLuminance(pixels: Buffer, y: number, dark = y): Buffer {
  const linear = (v: number) =>
    v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4;
  const encode = (c: number) =>
    Math.round(255 * (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055));
  const out = Buffer.alloc(pixels.length);
  for (let i = 0; i < pixels.length; i += 3) {
    const rgb = [0, 1, 2].map((c) => linear(pixels[i + c] ?? 0));
    const [r = 0, g = 0, b = 0] = rgb;
    const scale = (i % 6 ? y : dark) / Math.max(0.2126 * r + 0.7152 * g + 0.0722 * b, 1e-3);
    out.set(
      rgb.map((c) => encode(Math.min(1, c * scale))),
      i,
    );
  }
  return out;
}

/** The crop of `box` in the shared copy of `image`: ours, and libvips' (sharp's "attention"). */
async function bothCrops(image: RawImage, box: readonly number[]) {
  const [width = 0, height = 0] = box;
  const copy = await copyFor(image, [width, height]);
  const ours = attention.attentionCrop(copy, width, height, [255, 255, 255]);
  const { info } = await sharp(copy.data, { raw: copy })
    .resize({ width, height, fit: "cover", position: "attention" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    ours,
    theirs: { left: -(info.cropOffsetLeft ?? 0), top: -(info.cropOffsetTop ?? 0) },
    copy,
  };
}

/** The shared copy's shape for a cover box: the image shrunk until the box just fits inside. */
async function copyFor(image: RawImage, box: number[]) {
  const [width, height] = box as [number, number];
  const { data, info } = await sharp(image.data, { raw: image })
    .resize({ width, height, fit: "outside" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe("attentionCrop: libvips' attention strategy on the shared copy's pixels", () => {
  // Each case: the image, and the box whose crop is placed. libvips' own placement (sharp's
  // position "attention", which the single-rendition path still uses) is the reference.
  it.each([
    ["a subject at the left", () => subjectAt(160), [200, 200]],
    ["a subject at the right", () => subjectAt(1440), [200, 200]],
    ["a subject off-centre in a wide box", () => subjectAt(1100, 1600, 900, 150), [300, 100]],
    ["a subject low in a portrait", () => subjectAt(450, 900, 1600, 1350), [200, 200]],
    ["a subject left of centre, a narrow box", () => subjectAt(500), [100, 300]],
    ["a soft skin-toned subject, upper right", () => softSubjectAt(625, 125, 800, 600), [200, 200]],
    ["a soft skin-toned subject, lower left", () => softSubjectAt(150, 475, 800, 600), [150, 150]],
  ] as const)("places the crop where libvips does: %s", async (_, make, box) => {
    const { ours, theirs } = await bothCrops(make(), box);
    // Within rounding: both shrink to the same 32x32 proxy and score it alike.
    expect(Math.abs(ours.left - theirs.left)).toBeLessThanOrEqual(2);
    expect(Math.abs(ours.top - theirs.top)).toBeLessThanOrEqual(2);
  });

  // Pictures without one clear subject, where every term of the score counts: coloured blobs
  // (edges dominate), and the same at one luminance (no edges: skin and saturation decide).
  it.each([
    ["coloured blobs", (pixels: Buffer) => pixels],
    ["coloured blobs of one luminance", (pixels: Buffer) => atLuminance(pixels, 0.3)],
    // Half the blobs under libvips' darkness threshold (Y 5 of 100), which score only edges.
    ["coloured blobs, dark and light", (pixels: Buffer) => atLuminance(pixels, 0.3, 0.03)],
  ])("agrees with libvips on photo-like pictures: %s", async (_, colour) => {
    const boxes = [
      [200, 200],
      [300, 100],
      [100, 300],
    ] as const;
    const cases = [1, 2, 3, 4, 5, 6].flatMap((seed) => boxes.map((box) => [seed, box] as const));
    let agree = 0;
    for (const [seed, box] of cases) {
      const [w, h] = seed % 2 ? [40, 30] : [30, 40];
      const coarse = colour(pseudoRandomBytes(w * h * 3, seed));
      const photo = await sharp(coarse, { raw: { width: w, height: h, channels: 3 } })
        .resize(w * 16, h * 16, { kernel: "cubic" })
        .raw()
        .toBuffer();
      const image = { data: photo, width: w * 16, height: h * 16, channels: 3 as const };
      const { ours, theirs, copy } = await bothCrops(image, box);
      const near = (a: number, b: number, side: number) => Math.abs(a - b) <= side / 32;
      if (near(ours.left, theirs.left, copy.width) && near(ours.top, theirs.top, copy.height)) {
        agree++;
      }
    }
    // Near ties (two places within a hair) may go either way with a proxy shrunk in
    // JavaScript rather than by libvips: one case in 18 is allowed.
    expect(agree).toBeGreaterThanOrEqual(cases.length - 1);
  });

  it("scores transparent pixels as the background they are flattened onto", async () => {
    // An opaque subject at the right; at the left another, as strong but fully transparent
    // (were it scored, the left one would win the tie).
    const left = subjectAt(200, 1200, 400);
    const right = subjectAt(1000, 1200, 400);
    const data = Buffer.alloc(1200 * 400 * 4);
    for (let i = 0; i < 1200 * 400; i++) {
      const visible = i % 1200 >= 600;
      const source = visible ? right.data : left.data;
      data.set([...source.subarray(i * 3, i * 3 + 3), visible ? 255 : 0], i * 4);
    }
    const image = { data, width: 1200, height: 400, channels: 4 as const };
    const flattened = await sharp(data, { raw: image })
      .flatten({ background: "#ffffff" })
      .raw()
      .toBuffer();

    const ours = attention.attentionCrop(image, 400, 400, [255, 255, 255]);

    const asFlattened = attention.attentionCrop(
      { ...image, data: flattened, channels: 3 },
      400,
      400,
      [255, 255, 255],
    );
    expect(ours).toEqual(asFlattened);
    expect(ours.left).toBeGreaterThan(600);
  });

  it("is what the renditions from the shared copy crop with", async () => {
    const input = await jpeg(subjectAt(1440));
    const spy = jest.spyOn(attention, "attentionCrop");
    try {
      const { outputs } = await makeRenditions(
        input,
        parseRenditions(
          JSON.stringify([
            { name: "small", width: 256, height: 256 },
            { name: "square", width: 200, height: 200, fit: "cover", position: "attention" },
          ]),
          "RENDITIONS",
        ),
      );
      // The copy is 356x200 (the square's cover); the window is the square's 200x200.
      expect(spy.mock.calls.map(([image, w, h]) => [image.width, image.height, w, h])).toEqual([
        [356, 200, 200, 200],
      ]);
      const window = spy.mock.results[0]?.value as { left: number; top: number };
      expect(window.left).toBeGreaterThan(100);
      expect(await subjectPixels((outputs[1] as { data: Buffer }).data)).toBeGreaterThan(250);
    } finally {
      spy.mockRestore();
    }
  });
});
