import {
  checkLimits,
  DEFAULT_LIMITS,
  DEFAULT_OPTIONS,
  resolveOptions,
  thumbnailSpec,
} from "../handler/engine";
import { ConfigError } from "../handler/errors";

describe("resolveOptions", () => {
  it("fills every missing option (undefined or empty) from the defaults", () => {
    expect(resolveOptions({})).toEqual({
      width: 256,
      height: 256,
      fit: "inside",
      format: "jpeg",
      quality: 80,
      background: "#ffffff",
    });
    expect(resolveOptions({ width: undefined, format: "" })).toEqual(DEFAULT_OPTIONS);
  });

  it("accepts numbers and decimal strings as read from the environment", () => {
    const options = resolveOptions({
      width: "320",
      height: 200,
      fit: "cover",
      format: "webp",
      quality: " 65 ",
      background: "#1A2B3C",
    });

    expect(options).toEqual({
      width: 320,
      height: 200,
      fit: "cover",
      format: "webp",
      quality: 65,
      background: "#1a2b3c",
    });
  });

  it.each([
    [{ width: "abc" }, 'width must be an integer from 1 to 4096, got "abc"'],
    [{ width: 0 }, "width must be an integer from 1 to 4096, got 0"],
    [{ height: 5000 }, "height must be an integer from 1 to 4096, got 5000"],
    [{ height: 12.5 }, "height must be an integer from 1 to 4096, got 12.5"],
    [{ width: "-3" }, 'width must be an integer from 1 to 4096, got "-3"'],
    [{ quality: 101 }, "quality must be an integer from 1 to 100, got 101"],
    [{ quality: "1e2" }, 'quality must be an integer from 1 to 100, got "1e2"'],
    [{ fit: "contain" }, 'fit must be one of inside, cover, got "contain"'],
    [{ format: "jpg" }, 'format must be one of jpeg, webp, avif, png, gif, got "jpg"'],
    [{ format: "bmp" }, 'format must be one of jpeg, webp, avif, png, gif, got "bmp"'],
    [
      { background: "white" },
      'background must be a colour "#rrggbb" (e.g. "#ffffff"), got "white"',
    ],
    [{ background: "#fff" }, 'background must be a colour "#rrggbb" (e.g. "#ffffff"), got "#fff"'],
    [
      { widht: 100 },
      "unknown option widht; accepted: width, height, fit, format, quality, background",
    ],
  ])("refuses %j with a message naming the option and accepted values", (raw, message) => {
    let thrown: unknown;
    try {
      resolveOptions(raw);
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toMatchObject({
      code: "INVALID_OPTIONS",
      message: `Invalid thumbnail option: ${message}`,
    });
  });
});

describe("thumbnailSpec", () => {
  it("names the default output", () => {
    expect(thumbnailSpec(DEFAULT_OPTIONS)).toBe("256x256-inside-q80.jpeg");
  });

  it("changes with every option that changes the output, background only when not white", () => {
    const options = resolveOptions({
      width: 100,
      height: 50,
      fit: "cover",
      format: "avif",
      quality: 50,
      background: "#000000",
    });

    expect(thumbnailSpec(options)).toBe("100x50-cover-q50-bg000000.avif");
  });
});

describe("checkLimits", () => {
  it("accepts the defaults: 50 MiB and 100 megapixels", () => {
    expect(DEFAULT_LIMITS).toEqual({ maxInputBytes: 52_428_800, maxInputPixels: 100_000_000 });
    expect(() => checkLimits(DEFAULT_LIMITS)).not.toThrow();
  });

  it.each([
    [{ maxInputBytes: 0, maxInputPixels: 1 }, "maxInputBytes"],
    [{ maxInputBytes: 1, maxInputPixels: Number.POSITIVE_INFINITY }, "maxInputPixels"],
    [{ maxInputBytes: 1, maxInputPixels: -5 }, "maxInputPixels"],
    [{ maxInputBytes: 1.5, maxInputPixels: 1 }, "maxInputBytes"],
  ])("refuses %j (no 'unlimited': zero is not a way to switch a limit off)", (limits, name) => {
    expect(() => checkLimits(limits)).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG", message: expect.stringContaining(name) }),
    );
  });
});
