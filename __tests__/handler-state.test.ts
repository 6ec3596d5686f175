/**
 * What reconcile/backfill and the local service read back: the destination key rule, whether a
 * thumbnail is current, and the permanent-failure record on a source object.
 */

import { readConfig } from "../handler/config";
import { defaultRendition, renditionSpec } from "../handler/engine";
import { TransientError } from "../handler/errors";
import {
  clearFailureRecord,
  failureStatus,
  readFailureRecord,
  recordFailure,
} from "../handler/failure-record";
import { destinationKey, isInDestination } from "../handler/keys";
import { settingsFingerprint } from "../handler/settings-fingerprint";
import { readThumbnailState, staleRenditions, thumbnailMetadata } from "../handler/thumbnail-state";
import { FakeS3, slowDown } from "./support/fake-s3";

const config = readConfig({ SOURCE_BUCKET: "photos", DEST_BUCKET: "thumbs", DEST_PREFIX: "t/" });
const rendition = defaultRendition();
const spec = renditionSpec(rendition);
let s3: FakeS3;

beforeEach(() => {
  s3 = new FakeS3();
});

afterEach(() => s3.restore());

describe("destinationKey and isInDestination", () => {
  it("maps a source key to DEST_PREFIX + the rendition's prefix + the same key", () => {
    expect(destinationKey("a/b c.png", config, rendition)).toBe("t/a/b c.png");
    expect(destinationKey("a/b c.png", { destPrefix: "" }, rendition)).toBe("a/b c.png");
    expect(destinationKey("a/b c.png", config, { prefix: "small/" })).toBe("t/small/a/b c.png");
  });

  it("recognises the function's own outputs", () => {
    expect(isInDestination("thumbs", "t/a.jpg", config)).toBe(true);
    expect(isInDestination("thumbs", "a.jpg", config)).toBe(false);
    expect(isInDestination("photos", "t/a.jpg", config)).toBe(false);
  });
});

describe("readThumbnailState", () => {
  const source = { bucket: "photos", key: "a b.jpg", eTag: '"abc123"' };
  const storeThumbnail = (metadata: Record<string, string>) =>
    s3.put("thumbs", "t/a b.jpg", Buffer.from("thumbnail"), { metadata });

  it("is missing when there is no thumbnail", async () => {
    await expect(readThumbnailState(s3.client, config, source, rendition)).resolves.toEqual({
      status: "missing",
      rendition,
      key: "t/a b.jpg",
    });
  });

  it("is current when made from this ETag with the configured spec", async () => {
    storeThumbnail(thumbnailMetadata(source, spec));

    await expect(readThumbnailState(s3.client, config, source, rendition)).resolves.toEqual({
      status: "current",
      rendition,
      key: "t/a b.jpg",
    });
  });

  it.each([
    ["another version of the source", { "source-etag": "old" }],
    ["another spec", { "thumbnail-spec": "64x64-cover-q50.webp" }],
  ])("is outdated when made from %s", async (_, change) => {
    const metadata: Record<string, string> = {
      ...thumbnailMetadata(source, spec),
      ...change,
    };
    storeThumbnail(metadata);

    await expect(readThumbnailState(s3.client, config, source, rendition)).resolves.toEqual({
      status: "outdated",
      rendition,
      key: "t/a b.jpg",
      sourceETag: metadata["source-etag"],
      spec: metadata["thumbnail-spec"],
    });
  });

  it("throws a TransientError when S3 fails", async () => {
    s3.fail("HeadObject", "t/a b.jpg", slowDown());

    await expect(readThumbnailState(s3.client, config, source, rendition)).rejects.toThrow(
      TransientError,
    );
  });
});

describe("staleRenditions", () => {
  const source = { bucket: "photos", key: "a.jpg", eTag: "e1" };
  const three = readConfig({
    SOURCE_BUCKET: "photos",
    DEST_BUCKET: "thumbs",
    RENDITIONS: JSON.stringify([
      { name: "small", width: 64, height: 64 },
      { name: "square", width: 32, height: 32, fit: "cover" },
      { name: "card", width: 120, height: 63, fit: "cover", format: "webp" },
    ]),
  });
  const [small, square, card] = three.renditions;

  it("names exactly the renditions that are missing or made with another spec", async () => {
    if (!small || !square || !card) throw new Error("three renditions expected");
    s3.put("thumbs", "small/a.jpg", Buffer.from("s"), {
      metadata: thumbnailMetadata(source, renditionSpec(small)),
    });
    s3.put("thumbs", "square/a.jpg", Buffer.from("q"), {
      metadata: thumbnailMetadata(source, "32x32-cover-q50.jpeg"),
    });

    const stale = await staleRenditions(s3.client, three, source);

    expect(stale.map((r) => r.name)).toEqual(["square", "card"]);
  });
});

describe("the settings fingerprint", () => {
  const two = JSON.stringify([
    { name: "small", width: 64, height: 64, format: "webp" },
    { name: "large", width: 1024, height: 1024, fit: "cover", format: "avif" },
  ]);
  const base = { DEST_BUCKET: "thumbs", RENDITIONS: two };
  const of = (env: Record<string, string>) => settingsFingerprint(readConfig(env));

  it("is short and names exactly the settings that decide the outcome", () => {
    const fingerprint = of(base);
    const renamed = two.replace('"small"', '"tiny"').replace(/"large"/, '"big"');
    const reordered = JSON.stringify([...JSON.parse(two)].reverse());

    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // Where things go, how fast, how they are served: the same outcome, the same fingerprint.
    expect(
      of({
        ...base,
        SOURCE_BUCKET: "photos",
        SOURCE_PREFIX: "in/",
        DEST_PREFIX: "out/",
        CONCURRENCY: "9",
        CACHE_CONTROL: "no-store",
        LOG_LEVEL: "debug",
        RENDITIONS: renamed,
      }),
    ).toBe(fingerprint);
    expect(of({ ...base, RENDITIONS: reordered })).toBe(fingerprint);
    // Each setting that decides whether an input can be made, or what is made, changes it.
    const changed = [
      of({ ...base, MAX_INPUT_BYTES: "1000" }),
      of({ ...base, MAX_INPUT_PIXELS: "1000" }),
      // Which representation of a HEIC is decoded: a bad thumbnail item fails only with it on.
      of({ ...base, HEIC_THUMBNAILS: "false" }),
      of({ ...base, RENDITIONS: two.replace('"webp"', '"jpeg"') }),
      of({ ...base, RENDITIONS: JSON.stringify([JSON.parse(two)[0]]) }),
      of({ DEST_BUCKET: "thumbs" }),
      of({ DEST_BUCKET: "thumbs", THUMB_WIDTH: "100" }),
    ];
    expect(new Set([fingerprint, ...changed]).size).toBe(changed.length + 1);
  });
});

describe("the failure record", () => {
  const object = { bucket: "photos", key: "bad.jpg" };
  const settings = settingsFingerprint(config);

  it("is written as three tags next to the existing ones and read back", async () => {
    s3.put("photos", "bad.jpg", Buffer.from("x"), { tags: [{ Key: "owner", Value: "alice" }] });

    await expect(
      recordFailure(s3.client, object, { code: "CORRUPT_INPUT", eTag: '"e1"', settings }),
    ).resolves.toBe(true);

    expect(s3.get("photos", "bad.jpg")?.tags).toEqual([
      { Key: "owner", Value: "alice" },
      { Key: "thumbnailer-error", Value: "CORRUPT_INPUT" },
      { Key: "thumbnailer-error-etag", Value: "e1" },
      { Key: "thumbnailer-error-settings", Value: settings },
    ]);
    await expect(readFailureRecord(s3.client, object)).resolves.toEqual({
      code: "CORRUPT_INPUT",
      eTag: "e1",
      settings,
    });
  });

  it("stands for its version under its settings; another version or other settings retry it", () => {
    const record = { code: "CORRUPT_INPUT" as const, eTag: "e1", settings };
    const other = readConfig({ DEST_BUCKET: "thumbs", MAX_INPUT_PIXELS: "1000000000" });

    expect(failureStatus(record, '"e1"', config)).toBe("stands");
    expect(failureStatus(record, "e2", config)).toBe("none");
    expect(failureStatus(undefined, "e1", config)).toBe("none");
    expect(failureStatus(record, "e1", other)).toBe("settings changed");
    // Written without the settings (by an older version): it stands whatever the settings.
    expect(failureStatus({ ...record, settings: undefined }, "e1", other)).toBe("stands");
  });

  it("is absent on an object without failure tags, or a missing object", async () => {
    s3.put("photos", "bad.jpg", Buffer.from("x"), { tags: [{ Key: "owner", Value: "alice" }] });

    await expect(readFailureRecord(s3.client, object)).resolves.toBeUndefined();
    await expect(
      readFailureRecord(s3.client, { bucket: "photos", key: "nope.jpg" }),
    ).resolves.toBeUndefined();
  });

  it("is read without settings when written by an older version (two tags)", async () => {
    s3.put("photos", "bad.jpg", Buffer.from("x"), {
      tags: [
        { Key: "thumbnailer-error", Value: "CORRUPT_INPUT" },
        { Key: "thumbnailer-error-etag", Value: "e1" },
      ],
    });

    await expect(readFailureRecord(s3.client, object)).resolves.toEqual({
      code: "CORRUPT_INPUT",
      eTag: "e1",
      settings: undefined,
    });
  });

  it("is cleared without touching the object's other tags", async () => {
    s3.put("photos", "bad.jpg", Buffer.from("x"), { tags: [{ Key: "owner", Value: "alice" }] });
    await recordFailure(s3.client, object, { code: "CORRUPT_INPUT", eTag: "e1", settings });

    await clearFailureRecord(s3.client, object);
    await clearFailureRecord(s3.client, { bucket: "photos", key: "nope.jpg" });

    expect(s3.get("photos", "bad.jpg")?.tags).toEqual([{ Key: "owner", Value: "alice" }]);
    await expect(readFailureRecord(s3.client, object)).resolves.toBeUndefined();
  });

  it("is not written on an object that no longer exists", async () => {
    await expect(
      recordFailure(s3.client, object, { code: "CORRUPT_INPUT", eTag: "e1", settings }),
    ).resolves.toBe(false);
    expect(s3.commands()).toEqual(["GetObjectTagging"]);
  });

  it("leaves the settings out when only two of S3's 10 tags are free: a record that stands", async () => {
    const tags = Array.from({ length: 8 }, (_, index) => ({ Key: `k${index}`, Value: "v" }));
    s3.put("photos", "bad.jpg", Buffer.from("x"), { tags });

    await recordFailure(s3.client, object, { code: "CORRUPT_INPUT", eTag: "e1", settings });

    expect(s3.get("photos", "bad.jpg")?.tags).toEqual([
      ...tags,
      { Key: "thumbnailer-error", Value: "CORRUPT_INPUT" },
      { Key: "thumbnailer-error-etag", Value: "e1" },
    ]);
  });

  it("refuses, as a transient failure, to push an object over S3's 10 tags", async () => {
    const tags = Array.from({ length: 9 }, (_, index) => ({ Key: `k${index}`, Value: "v" }));
    s3.put("photos", "bad.jpg", Buffer.from("x"), { tags });

    const recording = recordFailure(s3.client, object, {
      code: "CORRUPT_INPUT",
      eTag: "e1",
      settings,
    });

    await expect(recording).rejects.toThrow(TransientError);
    await expect(recording).rejects.toThrow(/already has 9 other tags and S3 allows 10/);
    expect(s3.get("photos", "bad.jpg")?.tags).toEqual(tags);
  });
});
