import { createHash } from "node:crypto";
import sharp from "sharp";
import { PRODUCT_RENDITIONS } from "../bench/product-renditions";
import { readConfig } from "../handler/config";
import {
  configureSharp,
  DEFAULT_LIMITS,
  defaultRendition,
  makeRenditions,
  parseRenditions,
  type Rendition,
  type RenditionOutput,
  renditionSpec,
  resolveOptions,
  thumbnailSpec,
} from "../handler/engine";
import { ConfigError, PermanentInputError } from "../handler/errors";
import { heicFixture } from "./support/heic-fixtures";
import {
  animatedFrames,
  BLUE,
  colourName,
  GREEN,
  halfTransparentPng,
  markedImage,
  pixelsOf,
  RED,
  solid,
  steadyPhoto,
} from "./support/images";

// The process's entry point: what handler/index.ts, make and serve do at start-up.
beforeAll(configureSharp);

/** The list of the "done when" example. */
const PRODUCT_LIST = parseRenditions(JSON.stringify(PRODUCT_RENDITIONS), "RENDITIONS");

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseRenditions", () => {
  it("fills the defaults: fit inside, jpeg q80, white background, centre, still, prefix <name>/", () => {
    const [small] = parseRenditions('[{"name":"small","width":100,"height":80}]', "RENDITIONS");

    expect(small).toEqual({
      name: "small",
      width: 100,
      height: 80,
      fit: "inside",
      format: "jpeg",
      quality: 80,
      background: "#ffffff",
      position: "centre",
      animated: false,
      prefix: "small/",
    });
  });

  it("keeps every given field", () => {
    const [card] = parseRenditions(
      JSON.stringify([
        {
          name: "social-card",
          width: 1200,
          height: 630,
          fit: "cover",
          position: "entropy",
          format: "webp",
          quality: 70,
          background: "#000000",
          prefix: "cards/",
        },
      ]),
      "RENDITIONS",
    );

    expect(card).toEqual({
      name: "social-card",
      width: 1200,
      height: 630,
      fit: "cover",
      position: "entropy",
      format: "webp",
      quality: 70,
      background: "#000000",
      animated: false,
      prefix: "cards/",
    });
  });

  const a = { name: "a", width: 10, height: 10 };
  it.each([
    ["not JSON", "[{", "RENDITIONS is not valid JSON"],
    ["not an array", '{"name":"a"}', "RENDITIONS must be a non-empty JSON array of renditions"],
    ["an empty array", "[]", "RENDITIONS must be a non-empty JSON array of renditions"],
    ["not an object", "[1]", "RENDITIONS: rendition #1 must be an object"],
    [
      "a bad name",
      [{ ...a, name: "Big Thumb" }],
      'RENDITIONS: rendition #1: name must be 1-32 characters of a-z, 0-9 and "-", got "Big Thumb"',
    ],
    [
      "a name over 32",
      [{ ...a, name: "x".repeat(33) }],
      "RENDITIONS: rendition #1: name must be 1-32 characters",
    ],
    [
      "an unknown field",
      [{ ...a, size: 3 }],
      'RENDITIONS: rendition "a": size is not a rendition field; accepted: name, width,',
    ],
    ["a missing width", [{ name: "a", height: 10 }], 'rendition "a": width is required'],
    ["width 0", [{ ...a, width: 0 }], 'rendition "a": Invalid thumbnail option: width must be'],
    ["height 4097", [{ ...a, height: 4097 }], "height must be an integer from 1 to 4096, got 4097"],
    ["width as text", [{ ...a, width: "10" }], 'width must be a number from 1 to 4096, got "10"'],
    ["fit contain", [{ ...a, fit: "contain" }], 'fit must be one of inside, cover, got "contain"'],
    [
      "format jpg",
      [{ ...a, format: "jpg" }],
      'format must be one of jpeg, webp, avif, png, gif, got "jpg"',
    ],
    ["quality 0", [{ ...a, quality: 0 }], "quality must be an integer from 1 to 100, got 0"],
    [
      "quality with png",
      [{ ...a, format: "png", quality: 50 }],
      'rendition "a": quality does not apply to png; only jpeg, webp, avif have a quality',
    ],
    [
      "position without cover",
      [{ ...a, position: "attention" }],
      'rendition "a": position needs fit "cover"',
    ],
    [
      "position unknown",
      [{ ...a, fit: "cover", position: "top" }],
      'rendition "a": position must be one of centre, attention, entropy, got "top"',
    ],
    [
      "animated jpeg",
      [{ ...a, animated: true }],
      'rendition "a": animated needs a format that can animate (webp, gif); jpeg holds one frame',
    ],
    [
      "animated with attention",
      [{ ...a, format: "webp", animated: true, fit: "cover", position: "attention" }],
      'rendition "a": position "attention" cannot follow a subject across frames',
    ],
    ["animated as text", [{ ...a, animated: "yes" }], 'animated must be true or false, got "yes"'],
    ["a non-string prefix", [{ ...a, prefix: 3 }], 'rendition "a": prefix must be a string'],
    [
      "duplicate names",
      [a, { ...a, prefix: "other/" }],
      'RENDITIONS: renditions "a" and "a" have the same name',
    ],
    [
      "the same prefix",
      [a, { name: "b", width: 5, height: 5, prefix: "a/" }],
      'RENDITIONS: renditions "a" and "b" have overlapping prefixes ("a/", "a/")',
    ],
    [
      "one prefix inside another",
      [
        { ...a, prefix: "" },
        { name: "b", width: 5, height: 5 },
      ],
      'renditions "a" and "b" have overlapping prefixes ("", "b/"); no prefix may start with another',
    ],
  ])("refuses %s, naming the rendition and the field", (_, list, message) => {
    const json = typeof list === "string" ? list : JSON.stringify(list);

    const error = configError(() => parseRenditions(json, "RENDITIONS"));

    expect(error.message).toContain(message);
  });

  // Expected by name, not from ANIMATED_FORMATS: a format added there by mistake must fail here.
  it.each([
    ["webp", true],
    ["gif", true],
    ["avif", false],
    ["jpeg", false],
    ["png", false],
  ])("animated %s: accepted only where the format can hold frames (%s)", (format, animates) => {
    const still = { name: "a", width: 10, height: 10, format };
    const json = JSON.stringify([{ ...still, animated: true }]);

    // The same rendition without animation is fine: animation alone decides.
    expect(parseRenditions(JSON.stringify([still]), "RENDITIONS")[0]?.animated).toBe(false);
    if (animates) {
      expect(parseRenditions(json, "RENDITIONS")[0]).toMatchObject({ format, animated: true });
    } else {
      const error = configError(() => parseRenditions(json, "RENDITIONS"));
      expect([error.name, error.code]).toEqual(["ConfigError", "INVALID_CONFIG"]);
      // As the function reads it at start-up: refused before any object is touched.
      const startUp = configError(() => readConfig({ DEST_BUCKET: "thumbs", RENDITIONS: json }));
      expect([startUp.code, startUp.setting]).toEqual(["INVALID_CONFIG", "RENDITIONS"]);
    }
  });

  it("names the setting it was read from", () => {
    const error = configError(() => parseRenditions('[{"name":"a"}]', "--renditions"));

    expect(error.message).toBe('--renditions: rendition "a": width is required (1 to 4096)');
  });
});

describe("renditionSpec", () => {
  it("is thumbnailSpec's for the default rendition, as before renditions existed", () => {
    expect(renditionSpec(defaultRendition())).toBe("256x256-inside-q80.jpeg");
    expect(
      thumbnailSpec(resolveOptions({ fit: "cover", format: "avif", background: "#000000" })),
    ).toBe("256x256-cover-q80-bg000000.avif");
  });

  it("names the crop strategy and animation, not the name or prefix", () => {
    const [small, square, anim] = PRODUCT_LIST;

    expect([small, square, anim].map((r) => r && renditionSpec(r))).toEqual([
      "256x256-inside-q80.jpeg",
      "200x200-cover-attention-q80.webp",
      "128x128-inside-q80-animated.webp",
    ]);
  });
});

/** Format, frames, size and channels as decoded from the bytes. */
async function decoded(output: RenditionOutput) {
  const metadata = await sharp(output.data, { pages: -1 }).metadata();
  return {
    format: metadata.format,
    width: metadata.width,
    height: metadata.pageHeight ?? metadata.height,
    frames: metadata.pages ?? 1,
    channels: metadata.channels,
  };
}

function named(outputs: readonly RenditionOutput[], name: string): RenditionOutput {
  const output = outputs.find((candidate) => candidate.rendition.name === name);
  if (output === undefined) throw new Error(`no rendition ${name}`);
  return output;
}

describe("makeRenditions: the default configuration's bytes", () => {
  // SHA-256 of makeThumbnail's output on main before renditions existed (commit 2bf7b2a, sharp
  // 0.35.5), for inputs that are the same bytes on every run: the single default rendition
  // (and a THUMB_* variant) must stay byte for byte what existing deployments have. The
  // variant's WebP hashes were re-recorded once, on purpose, when WebP went from libwebp's
  // effort 4 to 2 (issue 20: 45% less CPU for files 4-5% larger; docs/performance.md).
  const inputs: Record<string, () => Promise<Buffer>> = {
    "jpeg 1000x750": () => markedImage(1000, 750).jpeg().toBuffer(),
    "photo jpeg 1600x1200": async () =>
      (await steadyPhoto(1600, 1200)).jpeg({ quality: 90 }).toBuffer(),
    "oriented jpeg": () => markedImage(600, 400).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    "png alpha": () => halfTransparentPng(640, 480, RED),
    "animated gif": () =>
      animatedFrames(300, 200, [RED, GREEN, BLUE])
        .gif({ delay: [100, 200, 300] })
        .toBuffer(),
    "photo webp": async () => (await steadyPhoto(800, 600)).webp({ quality: 85 }).toBuffer(),
  };
  const recorded: Record<string, { input: string; default: string; coverWebp: string }> = {
    "jpeg 1000x750": {
      input: "202a1cdf9af20b0a7ecd2911a2161e93df10bdf79fa2f5907553e744d28f1e1f",
      default: "354cbb751b2a04127068bc9e477427c01874b0a59d6cecf616dc4983bbc9fc15",
      coverWebp: "a464bb29f6c709365023496716f3e55c53d299fdab49c5afd14521f87afd6b98",
    },
    "photo jpeg 1600x1200": {
      input: "434e6fc4b18f7286802622120e86718489d1500ff4b82c5be6f8da3897633f04",
      default: "c6ab0c6e511bc74c615a807a72750ff003b58030897625762db8ead79b804a06",
      coverWebp: "67909cefe3929cccea508a0c02dbc276e3dbeb18ef9651cb66e00ecf3da052d7",
    },
    "oriented jpeg": {
      input: "b907b274f997848b9d9389b25118dcd4fd94b131e974727d275420560e28e76e",
      default: "394c30b7af09ee84491a45fc6297246b33c5302169fcecf585b82b486b87e2e0",
      coverWebp: "6568fe9baacfee11fe2f1653c90a0b559fee9609f9036c0c6c7b52268ae8bef0",
    },
    "png alpha": {
      input: "32d06733f7929f48be71ed08bf00ae85bfbb90cf1f7f1205b0baeeca51c8fb95",
      default: "3a74beb42bc371b392c21fa2fba8a9864611008bcc3a941b21bc99875413381f",
      coverWebp: "7f8141ca6750d2db980a507214e028422df9b2375934da2f64eaf00b52c3a659",
    },
    "animated gif": {
      input: "4df4ef05ac23db027ae6a816b0ff8b893288732c9d88a7aad52dcdf349db2500",
      default: "98083c814cb5b958f37b2d96d51924fe4c25d07210bb5c35fc6e39d0e15a18fd",
      coverWebp: "394faec9ac9de7d292accc73c95629645e1e77971912d71d511b050995720ea0",
    },
    "photo webp": {
      input: "28fd02988a9daac9d94df916b4f73a7875826886379165f9511e57153e0b168c",
      default: "bae5e3b3ff9d42b4a1c208eb167e6dd85f6fac44a9d01e9c26e2f9177bb57da6",
      coverWebp: "5f67590b2764fee3851036b0613149e8b6bd72aef833bc0eea70f56c30bb5ea3",
    },
  };
  const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
  const coverWebp = resolveOptions({
    width: 200,
    height: 100,
    fit: "cover",
    format: "webp",
    quality: 70,
  });

  it.each(Object.keys(inputs))("%s: same bytes as before renditions", async (name) => {
    const input = await (inputs[name] as () => Promise<Buffer>)();
    // The generated input itself must be the recorded one, or the comparison means nothing.
    expect(sha256(input)).toBe(recorded[name]?.input);

    const [byDefault] = (await makeRenditions(input, [defaultRendition()])).outputs;
    const [byOptions] = (await makeRenditions(input, [defaultRendition(coverWebp)])).outputs;

    expect(sha256(byDefault?.data ?? Buffer.alloc(0))).toBe(recorded[name]?.default);
    expect(sha256(byOptions?.data ?? Buffer.alloc(0))).toBe(recorded[name]?.coverWebp);
  });
});

describe("makeRenditions: a three-rendition list", () => {
  it.each([
    ["a JPEG", () => markedImage(1200, 900).jpeg().toBuffer(), "jpeg", [256, 192]],
    ["a PNG with alpha", () => halfTransparentPng(1200, 900, BLUE), "png", [256, 192]],
    ["a HEIC", () => heicFixture("marked-1200x900-q90"), "heic", [256, 192]],
  ])("makes all three from %s, each its own size and format", async (_, make, format, small) => {
    const input = await make();

    const { input: info, outputs } = await makeRenditions(input, PRODUCT_LIST);

    expect(info).toEqual({ format, width: 1200, height: 900, bytes: input.length });
    expect(outputs.map((output) => output.rendition.name)).toEqual(["small", "square", "anim"]);
    expect(await decoded(named(outputs, "small"))).toEqual({
      format: "jpeg",
      width: small[0],
      height: small[1],
      frames: 1,
      channels: 3,
    });
    expect(await decoded(named(outputs, "square"))).toEqual({
      format: "webp",
      width: 200,
      height: 200,
      frames: 1,
      channels: 3,
    });
    // A still input gives a still image, even for an animated rendition.
    expect(await decoded(named(outputs, "anim"))).toEqual({
      format: "webp",
      width: 128,
      height: 96,
      frames: 1,
      channels: 3,
    });
    expect(outputs.map((o) => [o.width, o.height, o.frames, o.contentType])).toEqual([
      [small[0], small[1], 1, "image/jpeg"],
      [200, 200, 1, "image/webp"],
      [128, 96, 1, "image/webp"],
    ]);
  });

  it("flattens a PNG's transparency onto each rendition's background", async () => {
    const input = await halfTransparentPng(400, 200, GREEN);
    const list = parseRenditions(
      JSON.stringify([
        { name: "white", width: 100, height: 100, format: "png" },
        { name: "black", width: 50, height: 50, format: "webp", background: "#000000" },
      ]),
      "RENDITIONS",
    );

    const { outputs } = await makeRenditions(input, list);

    const white = await pixelsOf(named(outputs, "white").data);
    const black = await pixelsOf(named(outputs, "black").data);
    expect([white.channels, colourName(white.at(10, 25)), colourName(white.at(90, 25))]).toEqual([
      3,
      "white",
      "green",
    ]);
    expect([colourName(black.at(5, 12)), colourName(black.at(45, 12))]).toEqual(["black", "green"]);
  });

  it("makes each rendition the size it would have alone, from the shared decode", async () => {
    // Odd sizes and aspect ratios, where rounding the shared copy could cost a pixel.
    const sizes = [
      [1001, 333],
      [333, 1001],
      [4000, 37],
      [257, 255],
    ] as const;
    const list = parseRenditions(
      JSON.stringify([
        { name: "big", width: 300, height: 300 },
        { name: "wide", width: 240, height: 90, fit: "cover" },
        { name: "tall", width: 90, height: 240, fit: "cover", format: "png" },
        { name: "tiny", width: 17, height: 13, fit: "cover", position: "entropy" },
      ]),
      "RENDITIONS",
    );

    for (const [width, height] of sizes) {
      const input = await markedImage(width, height).png().toBuffer();

      const together = (await makeRenditions(input, list)).outputs;
      const alone = await Promise.all(
        list.map(async (r) => (await makeRenditions(input, [r])).outputs[0]),
      );

      expect(together.map((o) => [o.width, o.height])).toEqual(
        alone.map((o) => [o?.width, o?.height]),
      );
    }
  });
});

describe("makeRenditions: animation", () => {
  const frames = () =>
    animatedFrames(300, 200, [RED, GREEN, BLUE])
      .gif({ delay: [100, 200, 300], loop: 0 })
      .toBuffer();

  it("keeps every frame and its delay in an animated WebP; a still rendition takes frame 1", async () => {
    const input = await frames();

    const { outputs } = await makeRenditions(input, PRODUCT_LIST);

    const anim = named(outputs, "anim");
    const metadata = await sharp(anim.data, { pages: -1 }).metadata();
    expect([metadata.format, metadata.pages, metadata.delay, metadata.loop]).toEqual([
      "webp",
      3,
      [100, 200, 300],
      0,
    ]);
    expect([anim.width, anim.height, anim.frames]).toEqual([128, 85, 3]);
    const colours = await Promise.all(
      [0, 1, 2].map(async (page) => {
        const pixels = await pixelsOf(await sharp(anim.data, { page }).png().toBuffer());
        return colourName(pixels.at(64, 40));
      }),
    );
    expect(colours).toEqual(["red", "green", "blue"]);
    // The still renditions of the same decode: one frame, the first.
    for (const name of ["small", "square"]) {
      const still = named(outputs, name);
      expect((await decoded(still)).frames).toBe(1);
      expect(colourName((await pixelsOf(still.data)).at(50, 50))).toBe("red");
    }
  });

  it("animates a GIF rendition, and uses the first frame when animated is false", async () => {
    const input = await frames();
    const list = parseRenditions(
      JSON.stringify([
        { name: "moving", width: 150, height: 150, format: "gif", animated: true },
        { name: "poster", width: 150, height: 150, format: "webp" },
      ]),
      "RENDITIONS",
    );

    const { outputs } = await makeRenditions(input, list);

    const moving = await sharp(named(outputs, "moving").data, { pages: -1 }).metadata();
    expect([moving.format, moving.pages, moving.delay]).toEqual(["gif", 3, [100, 200, 300]]);
    expect(await decoded(named(outputs, "poster"))).toMatchObject({ format: "webp", frames: 1 });
  });

  it("animates a single animated rendition straight from the decoder, delays kept", async () => {
    const input = await frames();
    const [anim] = PRODUCT_LIST.filter((r) => r.animated) as [Rendition];

    const { outputs } = await makeRenditions(input, [anim]);

    const metadata = await sharp(outputs[0]?.data ?? Buffer.alloc(0), { pages: -1 }).metadata();
    expect([metadata.pages, metadata.delay]).toEqual([3, [100, 200, 300]]);
  });

  it("counts the pixels of every frame against the limit: a 10,000-frame GIF fails its animated rendition only", async () => {
    // 10,000 frames of 16x16 (alternating, so the encoder cannot merge them): 2.56 MP in all.
    const frame = 16 * 16 * 3;
    const data = Buffer.alloc(frame * 10_000, 128);
    for (let page = 0; page < 10_000; page += 2) data.fill(0, page * frame, (page + 1) * frame);
    const input = await sharp(data, {
      raw: { width: 16, height: 160_000, channels: 3, pageHeight: 16 },
    })
      .gif()
      .toBuffer();
    const limits = { ...DEFAULT_LIMITS, maxInputPixels: 1_000_000 };
    const [anim] = PRODUCT_LIST.filter((r) => r.animated) as [Rendition];
    const message = "Input is 10000 frames of 16×16 = 2.56 MP, over the 1 MP limit";

    const made = await makeRenditions(input, PRODUCT_LIST, limits);
    const refused = await makeRenditions(input, [anim], limits).catch((e: unknown) => e);

    // The still renditions are made from the first frame, as without an animated rendition.
    expect(made.outputs.map((output) => [output.rendition.name, output.frames])).toEqual([
      ["small", 1],
      ["square", 1],
    ]);
    expect(made.failures.map(({ rendition, error }) => [rendition.name, error])).toEqual([
      [anim.name, expect.objectContaining({ code: "TOO_MANY_PIXELS", message })],
    ]);
    expect(made.failures[0]?.error).toBeInstanceOf(PermanentInputError);
    // Nothing else to make: the input fails as a whole, with the same reason.
    expect(refused).toBeInstanceOf(PermanentInputError);
    expect(refused).toMatchObject({ code: "TOO_MANY_PIXELS", message });
  }, 30_000);
});

describe("makeRenditions: crops", () => {
  /** 800x200 of flat grey with a saturated, detailed subject near the right edge. */
  async function subjectAtRightEdge(): Promise<Buffer> {
    const width = 800;
    const height = 200;
    const data = Buffer.alloc(width * height * 3, 200);
    for (let y = 40; y < 160; y++) {
      for (let x = 640; x < 780; x++) {
        data.set(((x >> 3) + (y >> 3)) % 2 ? [230, 40, 40] : [250, 200, 160], (y * width + x) * 3);
      }
    }
    return sharp(data, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
  }

  async function subjectPixels(output: RenditionOutput): Promise<number> {
    const pixels = await pixelsOf(output.data);
    let count = 0;
    for (let y = 0; y < pixels.height; y++) {
      for (let x = 0; x < pixels.width; x++) {
        const [r, g] = pixels.at(x, y);
        if (r > 180 && g < 90) count++;
      }
    }
    return count;
  }

  it("attention keeps an off-centre subject in the square; centre cuts it out", async () => {
    const input = await subjectAtRightEdge();
    const list = parseRenditions(
      JSON.stringify([
        { name: "centre", width: 200, height: 200, fit: "cover" },
        { name: "attention", width: 200, height: 200, fit: "cover", position: "attention" },
        { name: "entropy", width: 200, height: 200, fit: "cover", position: "entropy" },
      ]),
      "RENDITIONS",
    );

    const { outputs } = await makeRenditions(input, list);

    const counts = await Promise.all(outputs.map(subjectPixels));
    expect(outputs.map((o) => [o.width, o.height])).toEqual([
      [200, 200],
      [200, 200],
      [200, 200],
    ]);
    // The subject's red squares are about half of its 140x120 pixels.
    expect(counts[0]).toBe(0);
    expect(counts[1]).toBeGreaterThan(6000);
    expect(counts[2]).toBeGreaterThan(6000);
  });

  it.each([
    [4000, 40, [100, 40]],
    [40, 4000, [40, 100]],
    [6000, 500, [100, 100]],
    [500, 6000, [100, 100]],
  ])("covers a %ix%i input: the box, or cropped and never enlarged (%j)", async (w, h, size) => {
    const input = await solid(w, h, GREEN).png().toBuffer();
    const list = parseRenditions(
      JSON.stringify([
        { name: "square", width: 100, height: 100, fit: "cover", position: "attention" },
        { name: "banner", width: 1200, height: 60, fit: "cover" },
      ]),
      "RENDITIONS",
    );

    const { outputs } = await makeRenditions(input, list);

    const [square] = outputs;
    expect([square?.width, square?.height]).toEqual(size);
    expect(colourName((await pixelsOf(square?.data ?? Buffer.alloc(0))).at(0, 0))).toBe("green");
    const banner = outputs[1];
    expect(banner?.width).toBeLessThanOrEqual(Math.min(1200, w));
    expect(banner?.height).toBeLessThanOrEqual(Math.min(60, h));
    expect(Math.max(banner?.width ?? 0, banner?.height ?? 0)).toBeGreaterThan(0);
  });
});
