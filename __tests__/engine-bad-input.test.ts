import { gzipSync } from "node:zlib";
import sharp, { type Sharp } from "sharp";
import { configureSharp, DEFAULT_LIMITS, DEFAULT_OPTIONS, makeThumbnail } from "../handler/engine";
import { detectContainer } from "../handler/engine/detect";
import { decodeHeic } from "../handler/engine/heic";
import { classify, PermanentInputError } from "../handler/errors";
import { heicFixture } from "./support/heic-fixtures";
import {
  heifClaiming,
  markedImage,
  noisy,
  pngClaiming,
  pseudoRandomBytes,
  RED,
  solid,
} from "./support/images";

// The process's entry point: what handler/index.ts, make and serve do at start-up.
beforeAll(configureSharp);

/** The PermanentInputError that makeThumbnail rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<PermanentInputError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PermanentInputError);
  return error as PermanentInputError;
}

const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>';

describe("makeThumbnail: bad input is a permanent, typed error", () => {
  it("zero bytes: EMPTY_INPUT", async () => {
    const error = await rejection(makeThumbnail(new Uint8Array(0)));

    expect(error).toMatchObject({ code: "EMPTY_INPUT" });
    expect(classify(error)).toBe("failed");
  });

  it("more bytes than maxInputBytes: INPUT_TOO_LARGE, before decoding", async () => {
    const input = await noisy(200, 200).jpeg().toBuffer();

    const error = await rejection(
      makeThumbnail(input, DEFAULT_OPTIONS, { ...DEFAULT_LIMITS, maxInputBytes: input.length - 1 }),
    );

    expect(error.code).toBe("INPUT_TOO_LARGE");
    expect(error.message).toBe(
      `input is ${input.length} bytes, over the limit of ${input.length - 1} (maxInputBytes)`,
    );
    await expect(
      makeThumbnail(input, DEFAULT_OPTIONS, { ...DEFAULT_LIMITS, maxInputBytes: input.length }),
    ).resolves.toMatchObject({ width: 200 });
  });

  it("a 60000x60000 PNG bomb: TOO_MANY_PIXELS from the header, nothing allocated", async () => {
    const bomb = await pngClaiming(60000, 60000);
    expect(bomb.length).toBeLessThan(100);
    expect(await sharp(bomb, { limitInputPixels: false }).metadata()).toMatchObject({
      width: 60000,
      height: 60000,
    });

    const error = await rejection(makeThumbnail(bomb));

    expect(error.code).toBe("TOO_MANY_PIXELS");
    expect(error.message).toBe("Input (png) has more pixels than the limit of 100000000");
  });

  it("more pixels than maxInputPixels: TOO_MANY_PIXELS (JPEG)", async () => {
    const input = await solid(400, 300, RED).jpeg().toBuffer();
    const limits = { ...DEFAULT_LIMITS, maxInputPixels: 400 * 300 - 1 };

    const error = await rejection(makeThumbnail(input, DEFAULT_OPTIONS, limits));

    expect(error.code).toBe("TOO_MANY_PIXELS");
    await expect(
      makeThumbnail(input, DEFAULT_OPTIONS, { ...limits, maxInputPixels: 400 * 300 }),
    ).resolves.toMatchObject({ width: 256 });
  });

  it("a HEIC whose header claims 60000x60000: TOO_MANY_PIXELS before decoding", async () => {
    const heic = await heicFixture("marked-64x64");
    const bomb = heifClaiming(heic, 60000, 60000);

    const error = await rejection(makeThumbnail(bomb));

    expect(error.code).toBe("TOO_MANY_PIXELS");
    expect(error.message).toBe("Input (heif) has more pixels than the limit of 100000000");
  });

  it("a HEIC over maxInputPixels: TOO_MANY_PIXELS", async () => {
    const heic = await heicFixture("marked-64x48");

    const error = await rejection(
      makeThumbnail(heic, DEFAULT_OPTIONS, { ...DEFAULT_LIMITS, maxInputPixels: 64 * 48 - 1 }),
    );

    expect(error.code).toBe("TOO_MANY_PIXELS");
  });

  // makeThumbnail reaches the HEIC decoder only after sharp's header check has passed, which
  // hides the decoder's own check: call the decoder directly.
  it("the HEIC decoder itself refuses an image over its pixel limit before decoding", async () => {
    const heic = await heicFixture("marked-64x48");

    // (Pixels decoded despite the limit are released, or the next decode would wait for them.)
    const over = await decodeHeic(heic, { index: 0, maxInputPixels: 64 * 48 - 1 }).then(
      (pixels) => {
        pixels.release();
        return pixels;
      },
      (error: unknown) => error,
    );
    const decoded = await decodeHeic(heic, { index: 0, maxInputPixels: 64 * 48 });
    decoded.release();

    expect(over).toBeInstanceOf(PermanentInputError);
    expect((over as PermanentInputError).code).toBe("TOO_MANY_PIXELS");
    expect([decoded.width, decoded.height]).toEqual([64, 48]);
  });

  it.each([
    ["baseline", false, 0.5],
    ["baseline", false, 0.98],
    ["progressive", true, 0.5],
  ])(
    "a truncated %s JPEG (%s, cut at %d): CORRUPT_INPUT, not a grey half-image",
    async (_, progressive, keep) => {
      const jpeg = await noisy(400, 400).jpeg({ progressive }).toBuffer();

      const error = await rejection(
        makeThumbnail(jpeg.subarray(0, Math.floor(jpeg.length * keep))),
      );

      expect(error.code).toBe("CORRUPT_INPUT");
      expect(error.message).toMatch(/^Input could not be decoded as jpeg: .*premature end/i);
    },
  );

  it("a truncated HEIC: CORRUPT_INPUT", async () => {
    const heic = await heicFixture("noisy-128x128");

    const error = await rejection(makeThumbnail(heic.subarray(0, Math.floor(heic.length * 0.8))));

    expect(error.code).toBe("CORRUPT_INPUT");
    expect(error.message).toMatch(/^HEIC input could not be decoded: ./);
  });

  it("a truncated PNG: CORRUPT_INPUT", async () => {
    const png = await noisy(300, 300).png().toBuffer();

    const error = await rejection(makeThumbnail(png.subarray(0, png.length / 2)));

    expect(error.code).toBe("CORRUPT_INPUT");
  });

  it("JPEG magic bytes followed by garbage: CORRUPT_INPUT", async () => {
    const input = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), pseudoRandomBytes(2000)]);

    const error = await rejection(makeThumbnail(input));

    expect(error.code).toBe("CORRUPT_INPUT");
  });

  it("random bytes: UNSUPPORTED_FORMAT naming the accepted formats", async () => {
    const error = await rejection(makeThumbnail(pseudoRandomBytes(4096)));

    expect(error.code).toBe("UNSUPPORTED_FORMAT");
    expect(error.message).toBe(
      "Input is not a supported image (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC/HEIF); formats are recognised by content, not by name",
    );
  });

  it.each([
    ["SVG", Buffer.from(SVG)],
    ["SVG with an XML declaration", Buffer.from(`<?xml version="1.0"?>\n${SVG}`)],
    ["gzipped SVG (svgz)", gzipSync(SVG)],
    ["PDF", Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")],
    ["PostScript", Buffer.from("%!PS-Adobe-3.0\n")],
    ["HTML", Buffer.from("<!doctype html><script>alert(1)</script>")],
    ["text (say, notes.txt uploaded as photo.jpg)", Buffer.from("not the pixels you seek\n")],
  ])("%s: UNSUPPORTED_FORMAT", async (_, input) => {
    const error = await rejection(makeThumbnail(input));

    expect(error.code).toBe("UNSUPPORTED_FORMAT");
  });

  it("sharp itself refuses SVG once configureSharp has run (defence in depth)", async () => {
    await expect(sharp(Buffer.from(SVG)).png().toBuffer()).rejects.toThrow(
      /unsupported image format|blocked/i,
    );
  });
});

describe("detectContainer", () => {
  it.each([
    ["jpeg", (image: Sharp) => image.jpeg()],
    ["png", (image: Sharp) => image.png()],
    ["webp", (image: Sharp) => image.webp()],
    ["gif", (image: Sharp) => image.gif()],
    ["tiff", (image: Sharp) => image.tiff()],
    ["heif", (image: Sharp) => image.avif()],
  ])("recognises %s by its first bytes", async (container, encode) => {
    const bytes = await encode(markedImage(16, 16)).toBuffer();

    expect(detectContainer(bytes)).toBe(container);
  });

  it("recognises big-endian TIFF and HEIC by brand", async () => {
    const heic = await heicFixture("marked-16x16");

    expect(detectContainer(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))).toBe("tiff");
    expect(detectContainer(heic)).toBe("heif");
  });

  it("does not recognise an ISO-BMFF file that is not HEIF (an MP4 video)", () => {
    const mp4 = Buffer.from(
      "\u0000\u0000\u0000\u0018ftypisom\u0000\u0000\u0002\u0000isomiso2",
      "latin1",
    );

    expect(detectContainer(mp4)).toBeUndefined();
  });

  it("does not recognise prefixes too short to be sure", () => {
    expect(detectContainer(Buffer.from([0xff, 0xd8]))).toBeUndefined();
    expect(detectContainer(Buffer.from("RIFF"))).toBeUndefined();
  });
});
