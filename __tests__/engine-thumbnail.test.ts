import sharp, { type Sharp } from "sharp";
import {
  configureSharp,
  DEFAULT_OPTIONS,
  makeThumbnail,
  type OutputFormat,
  resolveOptions,
  type Thumbnail,
} from "../handler/engine";
import { heicFixture } from "./support/heic-fixtures";
import {
  animatedFrames,
  BLUE,
  type Corner,
  colourName,
  cornerColour,
  dominantChannel,
  exifHasGps,
  GREEN,
  halfTransparentPng,
  markedImage,
  noisy,
  pixelsOf,
  RED,
  solid,
} from "./support/images";

// The process's entry point: what handler/index.ts, make and serve do at start-up.
beforeAll(configureSharp);

/** Every thumbnail, whatever the input: 8-bit, 3-channel sRGB, no metadata carried over. */
async function expectCleanOutput(thumbnail: Thumbnail): Promise<void> {
  const metadata = await sharp(thumbnail.data).metadata();
  expect({
    width: metadata.width,
    height: metadata.height,
    channels: metadata.channels,
    depth: metadata.depth,
    space: metadata.space,
    exif: metadata.exif,
    xmp: metadata.xmp,
    hasAlpha: metadata.hasAlpha,
  }).toEqual({
    width: thumbnail.width,
    height: thumbnail.height,
    channels: 3,
    depth: "uchar",
    space: "srgb",
    exif: undefined,
    xmp: undefined,
    hasAlpha: false,
  });
}

describe("makeThumbnail: size", () => {
  it("fits a landscape JPEG inside 256x256 as JPEG, aspect ratio kept", async () => {
    const input = await markedImage(1000, 750).jpeg().toBuffer();

    const thumbnail = await makeThumbnail(input);

    expect(thumbnail).toMatchObject({
      width: 256,
      height: 192,
      format: "jpeg",
      contentType: "image/jpeg",
      input: { format: "jpeg", width: 1000, height: 750, bytes: input.length },
    });
    expect((await sharp(thumbnail.data).metadata()).format).toBe("jpeg");
    await expectCleanOutput(thumbnail);
  });

  it.each([
    [3000, 1000, 256, 85], // 85.33
    [999, 1001, 255, 256], // 255.49
    [640, 480, 256, 192],
  ])("keeps the aspect ratio of %ix%i within 1 px (%ix%i)", async (width, height, w, h) => {
    const thumbnail = await makeThumbnail(await solid(width, height, BLUE).png().toBuffer());

    expect(Math.abs(thumbnail.width - w)).toBeLessThanOrEqual(1);
    expect(Math.abs(thumbnail.height - h)).toBeLessThanOrEqual(1);
    expect(Math.max(thumbnail.width, thumbnail.height)).toBe(256);
  });

  it("never enlarges a tiny image", async () => {
    const thumbnail = await makeThumbnail(await markedImage(30, 24).png().toBuffer());

    expect([thumbnail.width, thumbnail.height]).toEqual([30, 24]);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(pixels.at(2, 2))).toBe("red");
    expect(colourName(pixels.at(27, 21))).toBe("blue");
  });

  it("handles an extreme aspect ratio (4000x10) without a zero-pixel side", async () => {
    const thumbnail = await makeThumbnail(await solid(4000, 10, GREEN).png().toBuffer());

    expect([thumbnail.width, thumbnail.height]).toEqual([256, 1]);
    expect(colourName((await pixelsOf(thumbnail.data)).at(128, 0))).toBe("green");
  });

  it("fit=cover fills the box exactly, cropping the centre", async () => {
    // Left third red, middle blue, right third green: cover keeps the middle of a 3:1 image.
    const stripes = Buffer.concat([
      await solid(300, 300, RED).raw().toBuffer(),
      await solid(300, 300, BLUE).raw().toBuffer(),
      await solid(300, 300, GREEN).raw().toBuffer(),
    ]);
    const input = await sharp(stripes, { raw: { width: 300, height: 900, channels: 3 } })
      .rotate(90)
      .png()
      .toBuffer();
    const options = resolveOptions({ width: 200, height: 100, fit: "cover" });

    const thumbnail = await makeThumbnail(input, options);

    expect([thumbnail.width, thumbnail.height]).toEqual([200, 100]);
    const pixels = await pixelsOf(thumbnail.data);
    expect([pixels.width, pixels.height]).toEqual([200, 100]);
    // 900x300 scaled to 300x100, centre 200 columns: 50 red | 100 blue | 50 green.
    expect(colourName(pixels.at(10, 50))).toBe("green");
    expect(colourName(pixels.at(100, 50))).toBe("blue");
    expect(colourName(pixels.at(190, 50))).toBe("red");
  });
  it("fit=cover never enlarges: a smaller input is only cropped to the box", async () => {
    const input = await solid(400, 200, GREEN).png().toBuffer();

    const thumbnail = await makeThumbnail(input, resolveOptions({ fit: "cover" }));

    expect([thumbnail.width, thumbnail.height]).toEqual([256, 200]);
  });

  it("takes a plain Uint8Array view into a larger buffer (as the S3 SDK returns bytes)", async () => {
    const jpeg = await markedImage(300, 300).jpeg().toBuffer();
    const backing = new Uint8Array(jpeg.length + 20);
    backing.set(jpeg, 10);
    const view = new Uint8Array(backing.buffer, 10, jpeg.length);

    const thumbnail = await makeThumbnail(view);

    expect(thumbnail.input).toEqual({
      format: "jpeg",
      width: 300,
      height: 300,
      bytes: jpeg.length,
    });
    expect(colourName(cornerColour(await pixelsOf(thumbnail.data), "top-left"))).toBe("red");
  });
});

describe("makeThumbnail: EXIF orientation", () => {
  // Where the stored top-left corner is displayed, and whether width and height swap.
  const expected: Record<number, [Corner, boolean]> = {
    1: ["top-left", false],
    2: ["top-right", false],
    3: ["bottom-right", false],
    4: ["bottom-left", false],
    5: ["top-left", true],
    6: ["top-right", true],
    7: ["bottom-right", true],
    8: ["bottom-left", true],
  };

  it.each(Object.entries(expected).map(([o, e]) => [Number(o), ...e] as const))(
    "orientation %i puts the marker %s (swapped: %s)",
    async (orientation, corner, swapped) => {
      const input = await markedImage(400, 200).jpeg().withMetadata({ orientation }).toBuffer();
      expect((await sharp(input).metadata()).orientation).toBe(orientation);

      const thumbnail = await makeThumbnail(input);

      expect([thumbnail.width, thumbnail.height]).toEqual(swapped ? [128, 256] : [256, 128]);
      expect(thumbnail.input).toMatchObject(
        swapped ? { width: 200, height: 400 } : { width: 400, height: 200 },
      );
      const pixels = await pixelsOf(thumbnail.data);
      const corners: Corner[] = ["top-left", "top-right", "bottom-right", "bottom-left"];
      const red = corners.filter((c) => colourName(cornerColour(pixels, c)) === "red");
      expect(red).toEqual([corner]);
      expect((await sharp(thumbnail.data).metadata()).orientation).toBeUndefined();
    },
  );
});

describe("makeThumbnail: colour", () => {
  it("converts a CMYK JPEG to 3-channel sRGB", async () => {
    const input = await markedImage(300, 300).toColourspace("cmyk").jpeg().toBuffer();
    expect((await sharp(input).metadata()).space).toBe("cmyk");

    const thumbnail = await makeThumbnail(input);

    await expectCleanOutput(thumbnail);
    const pixels = await pixelsOf(thumbnail.data);
    // CMYK's gamut cannot hold pure sRGB red or blue: the hues survive, not the exact values.
    expect(dominantChannel(cornerColour(pixels, "top-left"))).toBe("red");
    expect(dominantChannel(cornerColour(pixels, "bottom-right"))).toBe("blue");
  });

  it("converts a 16-bit PNG to 8 bits", async () => {
    const input = await markedImage(300, 200).toColourspace("rgb16").png().toBuffer();
    expect((await sharp(input).metadata()).depth).toBe("ushort");

    const thumbnail = await makeThumbnail(input, resolveOptions({ format: "png" }));

    await expectCleanOutput(thumbnail);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(cornerColour(pixels, "top-left"), 2)).toBe("red");
    expect(colourName(cornerColour(pixels, "bottom-right"), 2)).toBe("blue");
  });

  it("converts greyscale to 3 equal channels", async () => {
    const input = await solid(300, 200, [90, 90, 90]).toColourspace("b-w").png().toBuffer();
    expect((await sharp(input).metadata()).channels).toBe(1);

    const thumbnail = await makeThumbnail(input, resolveOptions({ format: "png" }));

    await expectCleanOutput(thumbnail);
    expect((await pixelsOf(thumbnail.data)).at(5, 5)).toEqual([90, 90, 90]);
  });

  it("converts a wide-gamut (Display P3) image to sRGB using its ICC profile", async () => {
    const input = await solid(300, 200, RED).withIccProfile("p3").jpeg({ quality: 95 }).toBuffer();
    // Sanity: the stored P3 values are far from sRGB red, so ignoring the profile would show.
    const stored = await pixelsOf(await sharp(input, { ignoreIcc: true }).png().toBuffer());
    expect(colourName(stored.at(5, 5), 10)).not.toBe("red");

    const thumbnail = await makeThumbnail(input);

    await expectCleanOutput(thumbnail);
    expect(colourName((await pixelsOf(thumbnail.data)).at(5, 5), 10)).toBe("red");
    expect((await sharp(thumbnail.data).metadata()).icc).toBeUndefined();
  });

  it("flattens transparent areas onto white by default", async () => {
    const input = await halfTransparentPng(200, 100, RED);

    const thumbnail = await makeThumbnail(input);

    await expectCleanOutput(thumbnail);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(pixels.at(10, 50), 2)).toBe("white");
    expect(colourName(pixels.at(190, 50))).toBe("red");
  });

  it("flattens onto the background option", async () => {
    const input = await halfTransparentPng(200, 100, RED);

    const thumbnail = await makeThumbnail(
      input,
      resolveOptions({ background: "#00ff00", format: "png" }),
    );

    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(pixels.at(10, 50), 0)).toBe("green");
    expect(colourName(pixels.at(190, 50), 0)).toBe("red");
  });
});

describe("makeThumbnail: metadata", () => {
  it("strips EXIF (GPS included), XMP and the ICC profile", async () => {
    const input = await markedImage(400, 300)
      .jpeg()
      .withExif({
        IFD0: { Make: "TestCam", Copyright: "secret-owner" },
        IFD3: { GPSLatitudeRef: "N", GPSLatitude: "51/1 30/1 0/1" },
      })
      .withXmp(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>',
      )
      .toBuffer();
    const inputMetadata = await sharp(input).metadata();
    expect(exifHasGps(inputMetadata.exif)).toBe(true);
    expect(inputMetadata.exif?.includes("TestCam")).toBe(true);
    expect(inputMetadata.xmp).toBeDefined();

    const thumbnail = await makeThumbnail(input);

    await expectCleanOutput(thumbnail);
    const bytes = thumbnail.data.toString("latin1");
    for (const marker of ["Exif", "TestCam", "secret-owner", "xmpmeta", "ICC_PROFILE"]) {
      expect(bytes).not.toContain(marker);
    }
  });
});

describe("makeThumbnail: input formats", () => {
  it("reads a progressive JPEG", async () => {
    const input = await markedImage(512, 512).jpeg({ progressive: true }).toBuffer();
    expect((await sharp(input).metadata()).isProgressive).toBe(true);

    const thumbnail = await makeThumbnail(input);

    expect([thumbnail.width, thumbnail.height]).toEqual([256, 256]);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(cornerColour(pixels, "top-left"))).toBe("red");
    expect(colourName(cornerColour(pixels, "bottom-right"))).toBe("blue");
  });

  it("tolerates a JPEG warning common in camera files (extraneous bytes before a marker)", async () => {
    const jpeg = await markedImage(300, 300).jpeg().toBuffer();
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    const input = Buffer.concat([jpeg.subarray(0, sos), Buffer.from([0, 0]), jpeg.subarray(sos)]);
    // Sanity: libjpeg does warn about it (sharp's strictest failOn level refuses the file).
    await expect(sharp(input, { failOn: "warning" }).png().toBuffer()).rejects.toThrow(
      /extraneous bytes/,
    );

    const thumbnail = await makeThumbnail(input);

    expect([thumbnail.width, thumbnail.height]).toEqual([256, 256]);
    expect(colourName(cornerColour(await pixelsOf(thumbnail.data), "top-left"))).toBe("red");
  });

  it.each([
    ["webp", (image: Sharp) => image.webp({ quality: 90 })],
    ["tiff", (image: Sharp) => image.tiff()],
    ["avif", (image: Sharp) => image.avif({ quality: 70 })],
    ["gif", (image: Sharp) => image.gif()],
  ])("reads %s", async (format, encode) => {
    const input = await encode(markedImage(600, 300)).toBuffer();

    const thumbnail = await makeThumbnail(input);

    expect(thumbnail.input).toEqual({ format, width: 600, height: 300, bytes: input.length });
    expect([thumbnail.width, thumbnail.height]).toEqual([256, 128]);
    await expectCleanOutput(thumbnail);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(cornerColour(pixels, "top-left"))).toBe("red");
    expect(colourName(cornerColour(pixels, "bottom-right"))).toBe("blue");
  });

  it.each([
    ["gif", (image: Sharp) => image.gif()],
    ["webp", (image: Sharp) => image.webp({ lossless: true })],
  ])("takes the first frame of an animated %s", async (format, encode) => {
    const input = await encode(animatedFrames(300, 150, [RED, GREEN, BLUE])).toBuffer();
    expect((await sharp(input).metadata()).pages).toBe(3);

    const thumbnail = await makeThumbnail(input);

    expect(thumbnail.input).toMatchObject({ format, width: 300, height: 150 });
    expect([thumbnail.width, thumbnail.height]).toEqual([256, 128]);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(pixels.at(128, 64))).toBe("red");
    expect(colourName(pixels.at(128, 127))).toBe("red");
  });

  it("reads the first page of a multi-page TIFF", async () => {
    const input = await animatedFrames(200, 100, [GREEN, RED]).tiff().toBuffer();
    expect((await sharp(input).metadata()).pages).toBe(2);

    const thumbnail = await makeThumbnail(input);

    expect([thumbnail.width, thumbnail.height]).toEqual([200, 100]);
    expect(colourName((await pixelsOf(thumbnail.data)).at(100, 99))).toBe("green");
  });
});

describe("makeThumbnail: HEIC (libheif-js; fixtures made with heif-enc)", () => {
  it("decodes an 8-bit HEIC: dimensions and pixels", async () => {
    const input = await heicFixture("marked-600x400-q90");
    expect((await sharp(input).metadata()).compression).toBe("hevc");

    const thumbnail = await makeThumbnail(input);

    expect(thumbnail.input).toEqual({
      format: "heic",
      width: 600,
      height: 400,
      bytes: input.length,
    });
    expect([thumbnail.width, thumbnail.height]).toEqual([256, 171]);
    await expectCleanOutput(thumbnail);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(cornerColour(pixels, "top-left"))).toBe("red");
    expect(colourName(cornerColour(pixels, "bottom-right"))).toBe("blue");
  });

  it("converts a Display P3 HEIC (the iPhone default) to sRGB using its ICC profile", async () => {
    const input = await heicFixture("red-300x200-p3-q95");
    expect((await sharp(input).metadata()).icc).toBeDefined();

    const thumbnail = await makeThumbnail(input);

    await expectCleanOutput(thumbnail);
    // Read as sRGB, the stored P3 values are about rgb(234, 51, 35): far from red within 10.
    expect(colourName((await pixelsOf(thumbnail.data)).at(150, 100), 10)).toBe("red");
  });

  it("keeps each HEIC's pixels its own when several are made at once", async () => {
    // The pixels are views into libheif's WebAssembly heap: released too early, the next
    // decode would reuse the memory while sharp still reads it.
    const fixtures = ["red-1200x900", "green-1200x900", "blue-1200x900"] as const;
    const inputs = await Promise.all([...fixtures, ...fixtures].map((name) => heicFixture(name)));

    const thumbnails = await Promise.all(inputs.map((input) => makeThumbnail(input)));

    const centres = await Promise.all(
      thumbnails.map(async (t) => (await pixelsOf(t.data)).at(t.width >> 1, t.height >> 1)),
    );
    expect(centres.map((colour) => dominantChannel(colour))).toEqual([
      "red",
      "green",
      "blue",
      "red",
      "green",
      "blue",
    ]);
  });

  it("decodes HEICs after a 12 MP one, whose decoder heap is handed back", async () => {
    // A 12 MP decode grows the WebAssembly heap past what heic.ts keeps: that instance is
    // dropped and collected, and the next HEIC gets a new one.
    const [large, small] = await Promise.all([
      heicFixture("green-4000x3000"),
      heicFixture("red-300x200"),
    ]);

    const first = await makeThumbnail(large);
    await new Promise((resolve) => setImmediate(resolve)); // lets the collection run
    const second = await makeThumbnail(small);
    const third = await makeThumbnail(large);

    expect([first.width, first.height, second.width, third.width]).toEqual([256, 192, 256, 256]);
    const centre = async (t: Thumbnail) => (await pixelsOf(t.data)).at(t.width >> 1, t.height >> 1);
    const colours = await Promise.all([first, second, third].map(centre));
    expect(colours.map((colour) => dominantChannel(colour))).toEqual(["green", "red", "green"]);
  }, 30_000);

  it("decodes a 10-bit HEIC with transparency, flattened onto the background", async () => {
    const input = await heicFixture("green-half-transparent-200x100-10bit");
    const metadata = await sharp(input).metadata();
    expect(metadata.hasAlpha).toBe(true);

    const thumbnail = await makeThumbnail(input, resolveOptions({ background: "#0000ff" }));

    expect([thumbnail.width, thumbnail.height]).toEqual([200, 100]);
    await expectCleanOutput(thumbnail);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(pixels.at(20, 50))).toBe("blue");
    expect(colourName(pixels.at(180, 50))).toBe("green");
  });
});

describe("makeThumbnail: output formats", () => {
  const formats: [OutputFormat, string, string][] = [
    ["jpeg", "jpeg", "image/jpeg"],
    ["webp", "webp", "image/webp"],
    ["avif", "heif", "image/avif"],
    ["png", "png", "image/png"],
  ];

  it.each(formats)("writes %s", async (format, sharpFormat, contentType) => {
    const input = await markedImage(512, 384).png().toBuffer();

    const thumbnail = await makeThumbnail(input, { ...DEFAULT_OPTIONS, format, quality: 70 });

    expect(thumbnail).toMatchObject({ format, contentType, width: 256, height: 192 });
    const metadata = await sharp(thumbnail.data).metadata();
    expect(metadata.format).toBe(sharpFormat);
    if (format === "avif") expect(metadata.compression).toBe("av1");
    await expectCleanOutput(thumbnail);
    const pixels = await pixelsOf(thumbnail.data);
    expect(colourName(cornerColour(pixels, "top-left"))).toBe("red");
    expect(colourName(cornerColour(pixels, "bottom-right"))).toBe("blue");
  });

  it("uses the quality option (lower quality, smaller file)", async () => {
    const input = await noisy(512, 512).png().toBuffer();

    const low = await makeThumbnail(input, resolveOptions({ quality: 20 }));
    const high = await makeThumbnail(input, resolveOptions({ quality: 95 }));

    expect(low.data.length).toBeLessThan(high.data.length / 2);
  });
});
