/** readConfig: the handler's environment variables, their defaults and their error messages. */

import { readConfig } from "../handler/config";
import { ConfigError } from "../handler/errors";

const BASE = { DEST_BUCKET: "thumbs" };

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    readConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("readConfig accepted the configuration");
}

describe("readConfig", () => {
  it("fills every setting but DEST_BUCKET with a safe default", () => {
    expect(readConfig(BASE)).toEqual({
      destBucket: "thumbs",
      destPrefix: "",
      sourceBucket: undefined,
      sourcePrefix: "",
      renditions: [
        {
          name: "default",
          width: 256,
          height: 256,
          fit: "inside",
          format: "jpeg",
          quality: 80,
          background: "#ffffff",
          prefix: "",
          position: "centre",
          animated: false,
        },
      ],
      limits: {
        maxInputBytes: 50 * 1024 * 1024,
        maxInputPixels: 100_000_000,
        heicThumbnails: true,
      },
      concurrency: 4,
      cacheControl: "max-age=86400",
      region: undefined,
      endpoint: undefined,
      logLevel: "info",
    });
  });

  it("reads every setting", () => {
    const config = readConfig({
      DEST_BUCKET: "thumbs",
      DEST_PREFIX: "t/",
      SOURCE_BUCKET: "photos",
      SOURCE_PREFIX: "uploads/",
      THUMB_WIDTH: "320",
      THUMB_HEIGHT: "200",
      THUMB_FIT: "cover",
      THUMB_FORMAT: "webp",
      THUMB_QUALITY: "70",
      THUMB_BACKGROUND: "#000000",
      MAX_INPUT_BYTES: "1000000",
      MAX_INPUT_PIXELS: "2000000",
      HEIC_THUMBNAILS: "false",
      CONCURRENCY: "8",
      CACHE_CONTROL: "public, max-age=600",
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL_S3: "http://localhost:4568",
      LOG_LEVEL: "DEBUG",
    });

    expect(config).toEqual({
      destBucket: "thumbs",
      destPrefix: "t/",
      sourceBucket: "photos",
      sourcePrefix: "uploads/",
      renditions: [
        {
          name: "default",
          width: 320,
          height: 200,
          fit: "cover",
          format: "webp",
          quality: 70,
          background: "#000000",
          prefix: "",
          position: "centre",
          animated: false,
        },
      ],
      limits: { maxInputBytes: 1_000_000, maxInputPixels: 2_000_000, heicThumbnails: false },
      concurrency: 8,
      cacheControl: "public, max-age=600",
      region: "eu-west-1",
      endpoint: "http://localhost:4568",
      logLevel: "debug",
    });
  });

  it("treats an empty variable as unset", () => {
    expect(
      readConfig({ ...BASE, SOURCE_BUCKET: "", CONCURRENCY: "", THUMB_FORMAT: "" }),
    ).toMatchObject({
      sourceBucket: undefined,
      concurrency: 4,
      renditions: [{ format: "jpeg" }],
    });
  });

  it.each([
    [{}, /^DEST_BUCKET is required/],
    [
      { DEST_BUCKET: "My_Thumbs" },
      /^DEST_BUCKET="My_Thumbs" is invalid: expected an S3 bucket name: 3-63 lowercase/,
    ],
    [
      { ...BASE, SOURCE_BUCKET: "ab" },
      /^SOURCE_BUCKET="ab" is invalid: expected an S3 bucket name/,
    ],
    [
      { ...BASE, THUMB_WIDTH: "wide" },
      /^THUMB_WIDTH="wide" is invalid: expected an integer from 1 to 4096$/,
    ],
    [
      { ...BASE, THUMB_HEIGHT: "0" },
      /^THUMB_HEIGHT="0" is invalid: expected an integer from 1 to 4096$/,
    ],
    [
      { ...BASE, THUMB_FIT: "stretch" },
      /^THUMB_FIT="stretch" is invalid: expected one of inside, cover$/,
    ],
    [
      { ...BASE, THUMB_FORMAT: "bmp" },
      /^THUMB_FORMAT="bmp" is invalid: expected one of jpeg, webp, avif, png, gif$/,
    ],
    [
      { ...BASE, THUMB_QUALITY: "101" },
      /^THUMB_QUALITY="101" is invalid: expected an integer from 1 to 100$/,
    ],
    [
      { ...BASE, THUMB_BACKGROUND: "white" },
      /^THUMB_BACKGROUND="white" is invalid: expected a colour "#rrggbb"/,
    ],
    [
      { ...BASE, MAX_INPUT_BYTES: "10MB" },
      /^MAX_INPUT_BYTES="10MB" is invalid: expected a positive integer$/,
    ],
    [
      { ...BASE, MAX_INPUT_PIXELS: "-1" },
      /^MAX_INPUT_PIXELS="-1" is invalid: expected a positive integer$/,
    ],
    [
      { ...BASE, CONCURRENCY: "0" },
      /^CONCURRENCY="0" is invalid: expected an integer from 1 to 64$/,
    ],
    [
      { ...BASE, CONCURRENCY: "65" },
      /^CONCURRENCY="65" is invalid: expected an integer from 1 to 64$/,
    ],
    [
      { ...BASE, CACHE_CONTROL: "max-age=60, é" },
      /^CACHE_CONTROL="max-age=60, é" is invalid: expected a Cache-Control header value/,
    ],
    [
      { ...BASE, AWS_ENDPOINT_URL_S3: "localhost:4568" },
      /^AWS_ENDPOINT_URL_S3="localhost:4568" is invalid: expected an http:\/\/ or https:\/\/ URL/,
    ],
    [
      { ...BASE, LOG_LEVEL: "verbose" },
      /^LOG_LEVEL="verbose" is invalid: expected one of debug, info, warn, error$/,
    ],
  ])("refuses %j naming the variable and the accepted values", (env, message) => {
    const error = configError(env);

    expect(error.message).toMatch(message);
    expect(error.code).toBe("INVALID_CONFIG");
  });
});

describe("readConfig: renditions", () => {
  const LIST = [
    { name: "small", width: 256, height: 256 },
    { name: "square", width: 200, height: 200, fit: "cover", position: "attention" },
  ];

  it("reads RENDITIONS instead of the single THUMB_* rendition", () => {
    const config = readConfig({ ...BASE, RENDITIONS: JSON.stringify(LIST) });

    expect(config.renditions.map((r) => [r.name, r.prefix, r.width, r.position])).toEqual([
      ["small", "small/", 256, "centre"],
      ["square", "square/", 200, "attention"],
    ]);
  });

  it("refuses RENDITIONS together with THUMB_* settings, naming both", () => {
    const error = configError({
      ...BASE,
      RENDITIONS: JSON.stringify(LIST),
      THUMB_WIDTH: "300",
      THUMB_FORMAT: "webp",
    });

    expect(error.message).toMatch(/^RENDITIONS and THUMB_WIDTH, THUMB_FORMAT are both set/);
  });

  it("refuses a bad list naming the setting, the rendition and the field", () => {
    const error = configError({
      ...BASE,
      RENDITIONS: '[{"name":"card","width":1200,"height":630,"position":"entropy"}]',
    });

    expect(error.message).toBe(
      'RENDITIONS: rendition "card": position needs fit "cover": an "inside" fit keeps the whole image',
    );
  });

  it("refuses a rendition prefix that overlaps SOURCE_PREFIX in one bucket", () => {
    const error = configError({
      SOURCE_BUCKET: "media",
      DEST_BUCKET: "media",
      SOURCE_PREFIX: "uploads/",
      RENDITIONS: JSON.stringify([
        { name: "small", width: 64, height: 64 },
        { name: "up", width: 64, height: 64, prefix: "uploads/up/" },
      ]),
    });

    expect(error.message).toMatch(
      /^SOURCE_BUCKET and DEST_BUCKET are both "media" but SOURCE_PREFIX \("uploads\/"\) and DEST_PREFIX \+ rendition "up"'s prefix \("uploads\/up\/"\) overlap/,
    );
  });

  it("accepts one bucket when every rendition prefix is disjoint from SOURCE_PREFIX", () => {
    const config = readConfig({
      SOURCE_BUCKET: "media",
      DEST_BUCKET: "media",
      SOURCE_PREFIX: "uploads/",
      RENDITIONS: JSON.stringify(LIST),
    });

    expect(config.renditions).toHaveLength(2);
  });
});

describe("readConfig: loop check", () => {
  it.each([
    ["no prefixes", "", ""],
    ["no source prefix", "", "thumbnails/"],
    ["no destination prefix (thumbnails would overwrite photos)", "uploads/", ""],
    ["the destination inside the source", "uploads/", "uploads/thumbnails/"],
    ["the same prefix", "media/", "media/"],
    ["one prefix a string prefix of the other", "up", "uploads-thumbs/"],
  ])("refuses one bucket for source and destination with %s", (_, sourcePrefix, destPrefix) => {
    const error = configError({
      SOURCE_BUCKET: "media",
      DEST_BUCKET: "media",
      SOURCE_PREFIX: sourcePrefix,
      DEST_PREFIX: destPrefix,
    });

    expect(error.message).toMatch(
      /^SOURCE_BUCKET and DEST_BUCKET are both "media" .* every thumbnail would trigger the function again/,
    );
  });

  it("accepts one bucket with disjoint prefixes", () => {
    const config = readConfig({
      SOURCE_BUCKET: "media",
      DEST_BUCKET: "media",
      SOURCE_PREFIX: "uploads/",
      DEST_PREFIX: "thumbnails/",
    });

    expect(config).toMatchObject({ sourcePrefix: "uploads/", destPrefix: "thumbnails/" });
  });

  it("accepts separate buckets without prefixes", () => {
    expect(readConfig({ SOURCE_BUCKET: "photos", DEST_BUCKET: "thumbs" })).toMatchObject({
      sourceBucket: "photos",
      destBucket: "thumbs",
    });
  });
});
