/**
 * HEIC: the smallest representation that suffices. An iPhone photo carries a thumbnail item
 * (320x240, some models also one in a 512 box) that is decoded instead of the primary image
 * when it is large enough for every rendition, has the primary's aspect ratio and orientation;
 * the output must look like the primary's (same size and orientation, colour profile applied,
 * mean absolute difference at most 12/255 per channel). Fixtures: support/heic-fixtures.ts.
 */
import sharp from "sharp";
import {
  configureSharp,
  DEFAULT_LIMITS,
  DEFAULT_OPTIONS,
  type Limits,
  makeRenditions,
  makeThumbnail,
  type Rendition,
  resolveOptions,
  type ThumbnailOptions,
} from "../handler/engine";
import * as heic from "../handler/engine/heic";
import { type HeicFixture, heicFixture } from "./support/heic-fixtures";
import { type Corner, colourName, cornerColour, pixelsOf } from "./support/images";

beforeAll(configureSharp);

const PRIMARY_ONLY: Limits = { ...DEFAULT_LIMITS, heicThumbnails: false };

type Decode = { width: number; height: number; fromThumbnail: boolean };

/** What each HEIC decode made while `run` runs returned: its size and source. */
async function decodesDuring<T>(run: () => Promise<T>): Promise<{ result: T; decodes: Decode[] }> {
  const real = heic.decodeHeic;
  const decodes: Decode[] = [];
  const spy = jest.spyOn(heic, "decodeHeic").mockImplementation(async (...args) => {
    const pixels = await real(...args);
    const { width, height, fromThumbnail } = pixels;
    decodes.push({ width, height, fromThumbnail });
    return pixels;
  });
  try {
    return { result: await run(), decodes };
  } finally {
    spy.mockRestore();
  }
}

const options = (raw: Partial<ThumbnailOptions>) => resolveOptions(raw);

/** The largest of the three channels' mean absolute differences, in 0-255 units. */
async function meanAbsoluteDifference(a: Buffer, b: Buffer): Promise<number> {
  const first = await sharp(a).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = first.info;
  // Sizes may differ by a pixel: compare at the first's.
  const second = await sharp(b)
    .removeAlpha()
    .resize(width, height, { fit: "fill" })
    .raw()
    .toBuffer();
  const sums = [0, 0, 0];
  for (let i = 0; i < first.data.length; i++) {
    sums[i % 3] = (sums[i % 3] ?? 0) + Math.abs((first.data[i] ?? 0) - (second[i] ?? 0));
  }
  return Math.max(...sums.map((sum) => sum / (width * height)));
}

async function cornerNames(image: Buffer): Promise<Record<Corner, string>> {
  const pixels = await pixelsOf(image);
  const corners: Corner[] = ["top-left", "top-right", "bottom-right", "bottom-left"];
  return Object.fromEntries(
    corners.map((corner) => [corner, colourName(cornerColour(pixels, corner))]),
  ) as Record<Corner, string>;
}

describe("HEIC: which representation is decoded", () => {
  it("decodes the 320x240 thumbnail item, not the grid, for the default 256 thumbnail", async () => {
    const input = await heicFixture("iphone-grid-1024x768-p3-thumbs");

    const { result, decodes } = await decodesDuring(() => makeThumbnail(input));

    expect(decodes).toEqual([{ width: 320, height: 240, fromThumbnail: true }]);
    expect([result.width, result.height]).toEqual([256, 192]);
    expect(result.input).toEqual({ format: "heic", width: 1024, height: 768, bytes: input.length });
  });

  it.each([
    [{ width: 320, height: 320 }, [320, 240]],
    [{ width: 321, height: 321 }, [512, 384]],
    [{ width: 400, height: 300, fit: "cover" }, [512, 384]],
    [{ width: 513, height: 513 }, [1024, 768]],
    [{ width: 300, height: 400, fit: "cover" }, [1024, 768]],
  ] as const)("takes the smallest that suffices: a box of %j decodes %j", async (box, size) => {
    const input = await heicFixture("iphone-grid-1024x768-p3-thumbs");

    const { decodes } = await decodesDuring(() => makeThumbnail(input, options(box)));

    expect(decodes.map(({ width, height }) => [width, height])).toEqual([size]);
  });

  it("compares sizes as displayed: a portrait (irot) photo's thumbnails are portrait too", async () => {
    const input = await heicFixture("iphone-grid-1024x768-p3-thumbs-irot90");

    const sizes = [];
    for (const box of [{}, { width: 400, height: 400 }, { width: 600, height: 600 }]) {
      const { decodes } = await decodesDuring(() => makeThumbnail(input, options(box)));
      sizes.push(...decodes);
    }

    expect(sizes).toEqual([
      { width: 240, height: 320, fromThumbnail: true },
      { width: 384, height: 512, fromThumbnail: true },
      { width: 768, height: 1024, fromThumbnail: false },
    ]);
  });

  it("makes several renditions from one decode of what the most demanding one needs", async () => {
    const input = await heicFixture("iphone-grid-1024x768-p3-thumbs");
    const renditions: Rendition[] = [
      {
        ...options({ width: 128, height: 128 }),
        name: "a",
        position: "centre",
        animated: false,
        prefix: "a/",
      },
      {
        ...options({ width: 400, height: 400, format: "webp" }),
        name: "b",
        position: "centre",
        animated: false,
        prefix: "b/",
      },
      {
        ...options({ width: 100, height: 100, fit: "cover" }),
        name: "c",
        position: "attention",
        animated: false,
        prefix: "c/",
      },
    ];

    const { result, decodes } = await decodesDuring(() => makeRenditions(input, renditions));

    expect(decodes).toEqual([{ width: 512, height: 384, fromThumbnail: true }]);
    expect(result.outputs.map(({ width, height }) => [width, height])).toEqual([
      [128, 96],
      [400, 300],
      [100, 100],
    ]);
  });

  // The marked fixtures' thumbnail item has a green bottom-right corner the primary lacks.
  it("the thumbnail item that suffices is what the output is made of", async () => {
    const thumbnail = await makeThumbnail(await heicFixture("thumbnail-marked-512x384"));

    expect((await cornerNames(thumbnail.data))["bottom-right"]).toBe("green");
  });

  it("a thumbnail within a pixel of the aspect ratio is used, but never a pixel short", async () => {
    // 512x383 with a 320x240 thumbnail: a 400x240 box needs 321x240 (cf. 256x192 for 256x256).
    const input = await heicFixture("thumbnail-marked-512x383");

    const small = await makeThumbnail(input);
    const { result, decodes } = await decodesDuring(() =>
      makeThumbnail(input, options({ width: 400, height: 240 })),
    );

    expect([small.width, small.height]).toEqual([256, 192]);
    expect((await cornerNames(small.data))["bottom-right"]).toBe("green");
    expect(decodes).toEqual([{ width: 512, height: 383, fromThumbnail: false }]);
    expect([result.width, result.height]).toEqual([321, 240]);
  });

  it.each<[string, HeicFixture, Partial<ThumbnailOptions>, Limits]>([
    [
      "the request is larger than the thumbnail",
      "thumbnail-marked-512x384",
      { width: 321, height: 321 },
      DEFAULT_LIMITS,
    ],
    ["the setting is off", "thumbnail-marked-512x384", {}, PRIMARY_ONLY],
    [
      "its aspect ratio is not the primary's",
      "thumbnail-marked-square-512x384",
      { width: 200, height: 200 },
      DEFAULT_LIMITS,
    ],
  ])("the primary is decoded when %s", async (_, fixture, box, limits) => {
    const input = await heicFixture(fixture);

    const { result, decodes } = await decodesDuring(() =>
      makeThumbnail(input, options(box), limits),
    );

    expect(decodes).toEqual([{ width: 512, height: 384, fromThumbnail: false }]);
    const corners = await cornerNames(result.data);
    expect([corners["top-left"], corners["bottom-right"]]).toEqual([
      "red",
      expect.not.stringMatching(/green/),
    ]);
  });

  it("the primary is decoded when the thumbnail item is not turned as the primary is", async () => {
    // The primary is turned half a turn (its red corner shows bottom-right); the thumbnail is not.
    const input = await heicFixture("thumbnail-marked-unrotated-512x384");

    const { result, decodes } = await decodesDuring(() => makeThumbnail(input));

    expect(decodes).toEqual([{ width: 512, height: 384, fromThumbnail: false }]);
    const corners = await cornerNames(result.data);
    expect([corners["top-left"], corners["bottom-right"]]).toEqual([
      expect.not.stringMatching(/green/),
      "red",
    ]);
  });
});

describe("HEIC: the thumbnail path looks like the primary path", () => {
  it.each<[HeicFixture, Partial<ThumbnailOptions>, Corner]>([
    ["iphone-grid-1024x768-p3-thumbs", {}, "top-left"],
    [
      "iphone-grid-1024x768-p3-thumbs",
      { width: 200, height: 200, fit: "cover", format: "webp" },
      "top-left",
    ],
    ["iphone-grid-1024x768-p3-thumbs", { width: 500, height: 500, format: "png" }, "top-left"],
    ["iphone-grid-1024x768-p3-thumbs", { width: 320, height: 240 }, "top-left"],
    ["iphone-grid-1024x768-p3-thumbs-irot90", {}, "bottom-left"],
    [
      "iphone-grid-1024x768-p3-thumbs-irot90",
      { width: 150, height: 150, fit: "cover" },
      "bottom-left",
    ],
  ])(
    "%s %o: same size and orientation, profile applied, close pixels",
    async (fixture, box, red) => {
      const input = await heicFixture(fixture);

      const viaThumbnail = await decodesDuring(() => makeThumbnail(input, options(box)));
      const viaPrimary = await decodesDuring(() =>
        makeThumbnail(input, options(box), PRIMARY_ONLY),
      );

      expect(viaThumbnail.decodes.map((d) => d.fromThumbnail)).toEqual([true]);
      expect(viaPrimary.decodes.map((d) => d.fromThumbnail)).toEqual([false]);
      const [a, b] = [viaThumbnail.result, viaPrimary.result];
      expect(Math.abs(a.width - b.width)).toBeLessThanOrEqual(1);
      expect(Math.abs(a.height - b.height)).toBeLessThanOrEqual(1);
      expect(a.input).toEqual(b.input);
      // The marker is sRGB red stored as Display P3 values (about rgb(234, 51, 35) read as
      // sRGB): red on both paths means the primary's profile was applied to both.
      expect((await cornerNames(a.data))[red]).toBe("red");
      expect((await cornerNames(b.data))[red]).toBe("red");
      expect(await meanAbsoluteDifference(a.data, b.data)).toBeLessThanOrEqual(12);
    },
  );
});

describe("HEIC: a grid primary is decoded tile by tile into a shrunk copy", () => {
  it.each<[HeicFixture, [number, number], [number, number], Corner]>([
    ["iphone-grid-1024x768-p3-thumbs", [512, 384], [256, 192], "top-left"],
    ["iphone-grid-1024x768-p3-thumbs-irot90", [384, 512], [192, 256], "bottom-left"],
  ])(
    "%s: a %j copy, and the output of the whole image's decode",
    async (fixture, copy, size, red) => {
      const input = await heicFixture(fixture);
      // The whole image, decoded at full size (a box as large as the image), then resized.
      const whole = await makeThumbnail(
        input,
        options({ width: 1024, height: 1024, format: "png" }),
        PRIMARY_ONLY,
      );
      const reference = await sharp(whole.data)
        .resize(256, 256, { fit: "inside" })
        .jpeg()
        .toBuffer();

      const { result, decodes } = await decodesDuring(() =>
        makeThumbnail(input, DEFAULT_OPTIONS, PRIMARY_ONLY),
      );

      expect(decodes).toEqual([{ width: copy[0], height: copy[1], fromThumbnail: false }]);
      expect([result.width, result.height]).toEqual(size);
      expect(result.input).toEqual(whole.input);
      expect((await cornerNames(result.data))[red]).toBe("red");
      expect(await meanAbsoluteDifference(result.data, reference)).toBeLessThanOrEqual(12);
    },
  );

  // 992x736 in tiles of 256 that overrun it (as an iPhone's 4032 is 7.875 tiles of 512): a
  // 150 box needs 150x112, so a third (331x246), whose last column and row average fewer pixels.
  it.each<[HeicFixture, [number, number], [number, number], Corner]>([
    ["iphone-grid-992x736-overrun", [331, 246], [150, 111], "top-left"],
    // Turned, the overrun lies before the first row: decoded whole.
    ["iphone-grid-992x736-overrun-irot90", [736, 992], [111, 150], "bottom-left"],
  ])(
    "%s: a %j copy for a 150 box, and the whole image's output",
    async (fixture, copy, size, red) => {
      const input = await heicFixture(fixture);
      const whole = await makeThumbnail(
        input,
        options({ width: 1024, height: 1024, format: "png" }),
      );
      const reference = await sharp(whole.data)
        .resize(150, 150, { fit: "inside" })
        .png()
        .toBuffer();

      const { result, decodes } = await decodesDuring(() =>
        makeThumbnail(input, options({ width: 150, height: 150, format: "png" })),
      );

      expect(decodes).toEqual([{ width: copy[0], height: copy[1], fromThumbnail: false }]);
      expect([result.width, result.height]).toEqual(size);
      expect((await cornerNames(result.data))[red]).toBe("red");
      expect(await meanAbsoluteDifference(result.data, reference)).toBeLessThanOrEqual(12);
    },
  );

  it("each pixel of the copy is the mean of its block of the whole image, edges included", async () => {
    const input = await heicFixture("iphone-grid-992x736-overrun");
    const request = { index: 0, maxInputPixels: 992 * 736, thumbnails: false };
    const copy = await heic.decodeHeic(input, {
      ...request,
      needed: () => ({ width: 150, height: 112 }),
    });
    const shrunk = { width: copy.width, height: copy.height, data: Buffer.from(copy.data) };
    copy.release();
    const whole = await heic.decodeHeic(input, request);

    // 992x736 by 3: the last column holds 1 pixel's width (992 = 330 x 3 + 2), the last row 1.
    const expected = Buffer.alloc(shrunk.data.length);
    for (let y = 0; y < shrunk.height; y++) {
      for (let x = 0; x < shrunk.width; x++) {
        for (let c = 0; c < 3; c++) {
          let [sum, count] = [0, 0];
          for (let v = y * 3; v < Math.min(y * 3 + 3, 736); v++) {
            for (let u = x * 3; u < Math.min(x * 3 + 3, 992); u++) {
              sum += whole.data[(v * 992 + u) * 3 + c] ?? 0;
              count++;
            }
          }
          expected[(y * shrunk.width + x) * 3 + c] = Math.round(sum / count);
        }
      }
    }
    whole.release();

    expect([shrunk.width, shrunk.height]).toEqual([331, 246]);
    expect(shrunk.data.equals(expected)).toBe(true);
  });
});
