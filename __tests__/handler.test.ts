/**
 * The S3-event layer end to end: real images through the real engine, S3 faked at the SDK
 * level (aws-sdk-client-mock behind an in-memory object store, see support/fake-s3.ts).
 */

import { type HandlerConfig, readConfig } from "../handler/config";
import { configureSharp } from "../handler/engine";
import { ConfigError, TransientError } from "../handler/errors";
import { createLogger } from "../handler/log";
import { processEvent, type RecordResult } from "../handler/process-event";
import { settingsFingerprint } from "../handler/settings-fingerprint";
import { FakeS3, networkError, serviceError, slowDown } from "./support/fake-s3";
import { describeImage, jpeg, truncatedJpeg } from "./support/handler-images";
import { encodeEventKey, type RecordSpec, s3Event } from "./support/s3-events";

// The process's entry point: what handler/index.ts, make and serve do at start-up.
beforeAll(configureSharp);

const SOURCE = "photos";
const DEST = "thumbs";

interface Harness {
  s3: FakeS3;
  config: HandlerConfig;
  lines: Record<string, unknown>[];
  run(...records: RecordSpec[]): Promise<RecordResult[]>;
  /** Stores a source object and returns the ObjectCreated:Put record S3 would send for it. */
  upload(key: string, body: Buffer, tags?: { Key: string; Value: string }[]): RecordSpec;
}

let harness: Harness | undefined;

function setup(env: Record<string, string> = {}): Harness {
  const s3 = new FakeS3();
  const config = readConfig({ SOURCE_BUCKET: SOURCE, DEST_BUCKET: DEST, ...env });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("debug", (line) => lines.push(JSON.parse(line)));
  harness = {
    s3,
    config,
    lines,
    run: (...records) => processEvent(s3Event(...records), { s3: s3.client, config, log }),
    upload(key, body, tags = []) {
      const bucket = config.sourceBucket ?? SOURCE;
      const eTag = s3.put(bucket, key, body, { contentType: "image/jpeg", tags });
      return { eventName: "ObjectCreated:Put", bucket, key, size: body.length, eTag };
    },
  };
  return harness;
}

afterEach(() => {
  // Every response body is read or closed, whatever the outcome.
  expect(harness?.s3.openBodies()).toBe(0);
  harness?.s3.restore();
  harness = undefined;
});

const removal = (key: string, eventName = "ObjectRemoved:Delete"): RecordSpec => ({
  eventName,
  bucket: SOURCE,
  key,
});

describe("processEvent: created objects", () => {
  it("writes a JPEG thumbnail that fits 256x256 with content type, cache control and metadata", async () => {
    const { s3, run, upload } = setup();
    const record = upload("holiday/beach.jpg", await jpeg(600, 400, "#c83228"));

    const [result] = await run(record);

    expect(result).toMatchObject({
      bucket: SOURCE,
      key: "holiday/beach.jpg",
      event: "ObjectCreated:Put",
      outcome: "created",
      input: { format: "jpeg", width: 600, height: 400, bytes: record.size },
      outputs: [
        {
          rendition: "default",
          bucket: DEST,
          key: "holiday/beach.jpg",
          width: 256,
          height: 171,
          format: "jpeg",
        },
      ],
    });
    const thumbnail = s3.get(DEST, "holiday/beach.jpg");
    expect(thumbnail).toMatchObject({
      contentType: "image/jpeg",
      cacheControl: "max-age=86400",
      metadata: {
        "source-bucket": SOURCE,
        "source-key": "holiday%2Fbeach.jpg",
        "source-etag": record.eTag,
        "thumbnail-spec": "256x256-inside-q80.jpeg",
      },
    });
    const image = await describeImage(thumbnail?.body ?? Buffer.alloc(0));
    expect(image).toMatchObject({ format: "jpeg", width: 256, height: 171 });
    const [r, g, b] = image.centre;
    expect(Math.abs((r ?? 0) - 0xc8)).toBeLessThan(12);
    expect(Math.abs((g ?? 0) - 0x32)).toBeLessThan(12);
    expect(Math.abs((b ?? 0) - 0x28)).toBeLessThan(12);
    expect(s3.get(SOURCE, "holiday/beach.jpg")?.tags).toEqual([]);
    expect(s3.keys(DEST)).toEqual(["holiday/beach.jpg"]);
  });

  it("honours the thumbnail settings and DEST_PREFIX", async () => {
    const { s3, run, upload } = setup({
      DEST_PREFIX: "small/",
      THUMB_WIDTH: "100",
      THUMB_HEIGHT: "100",
      THUMB_FIT: "cover",
      THUMB_FORMAT: "webp",
      CACHE_CONTROL: "public, max-age=60",
    });

    await run(upload("a.jpg", await jpeg(300, 200)));

    const thumbnail = s3.get(DEST, "small/a.jpg");
    expect(thumbnail).toMatchObject({
      contentType: "image/webp",
      cacheControl: "public, max-age=60",
      metadata: { "thumbnail-spec": "100x100-cover-q80.webp" },
    });
    expect(await describeImage(thumbnail?.body ?? Buffer.alloc(0))).toMatchObject({
      format: "webp",
      width: 100,
      height: 100,
    });
  });

  it.each([
    ["a space, encoded as +", "my photo.jpg", "my+photo.jpg"],
    ["a plus sign, encoded as %2B", "a+b.jpg", "a%2Bb.jpg"],
    ["a percent sign, encoded as %25", "100% done.jpg", "100%25+done.jpg"],
    ["unicode, percent-encoded UTF-8", "été/写真.jpg", "%C3%A9t%C3%A9/%E5%86%99%E7%9C%9F.jpg"],
    ["nested prefixes", "2026/06/01/camera/IMG 1.jpg", "2026/06/01/camera/IMG+1.jpg"],
  ])("decodes a key with %s", async (_, key, rawKey) => {
    const { s3, run, upload } = setup();
    const record = upload(key, await jpeg(40, 30));
    expect(encodeEventKey(key)).toBe(rawKey);

    const [result] = await run({ ...record, rawKey });

    expect(result).toMatchObject({ key, outcome: "created" });
    expect(s3.keys(DEST)).toEqual([key]);
    expect(decodeURIComponent(s3.get(DEST, key)?.metadata["source-key"] ?? "")).toBe(key);
  });

  it("skips a stale event whose ETag no longer matches the object (412), writing nothing", async () => {
    const { s3, run, upload } = setup();
    const old = upload("a.jpg", await jpeg(50, 50, "#000000"));
    upload("a.jpg", await jpeg(60, 60, "#ffffff"));

    const [result] = await run(old);

    expect(result).toMatchObject({ outcome: "skipped", reason: expect.stringMatching(/ETag/) });
    expect(s3.commands()).toEqual(["GetObject"]);
    expect(s3.keys(DEST)).toEqual([]);
    expect(s3.get(SOURCE, "a.jpg")?.tags).toEqual([]);
  });

  it("skips a stale event on a server that ignores If-Match (like s3rver), by the returned ETag", async () => {
    const { s3, run, upload } = setup();
    const old = upload("a.jpg", await jpeg(50, 50, "#000000"));
    upload("a.jpg", await jpeg(60, 60, "#ffffff"));
    s3.ignoreIfMatch = true;

    const [result] = await run(old);

    expect(result).toMatchObject({ outcome: "skipped", reason: expect.stringMatching(/ETag/) });
    expect(s3.keys(DEST)).toEqual([]);
  });

  it("skips an object that no longer exists (404) without recording a failure", async () => {
    const { s3, run } = setup();
    const event = {
      eventName: "ObjectCreated:Put",
      bucket: SOURCE,
      key: "gone.jpg",
      size: 10,
      eTag: "abc",
    };

    const [result] = await run(event);

    expect(result).toMatchObject({ outcome: "skipped", reason: "object no longer exists" });
    expect(s3.commands()).toEqual(["GetObject"]);
  });

  it("gives the same single thumbnail when an event is replayed or a record is duplicated", async () => {
    const { s3, run, upload } = setup();
    const record = upload("a.jpg", await jpeg(500, 300));
    await run(record);
    const first = s3.get(DEST, "a.jpg");

    const results = await run(record, record);

    expect(results.map((result) => result.outcome)).toEqual(["created", "created"]);
    expect(s3.keys(DEST)).toEqual(["a.jpg"]);
    const again = s3.get(DEST, "a.jpg");
    expect(again?.body.equals(first?.body ?? Buffer.alloc(0))).toBe(true);
    expect(again?.metadata).toEqual(first?.metadata);
  });

  it("skips event types it does not handle (e.g. restores, tagging)", async () => {
    const { s3, run, upload } = setup();
    const record = upload("a.jpg", await jpeg(20, 20));

    const results = await run(
      { ...record, eventName: "ObjectRestore:Completed" },
      { ...record, eventName: "ObjectTagging:Put" },
    );

    expect(results.map((result) => result.outcome)).toEqual(["skipped", "skipped"]);
    expect(s3.commands()).toEqual([]);
  });

  it("skips an empty folder placeholder without tagging it", async () => {
    const { s3, run } = setup();
    const eTag = s3.put(SOURCE, "albums/", Buffer.alloc(0));

    const [result] = await run({
      eventName: "ObjectCreated:Put",
      bucket: SOURCE,
      key: "albums/",
      size: 0,
      eTag,
    });

    expect(result?.outcome).toBe("skipped");
    expect(s3.commands()).toEqual([]);
  });
});

describe("processEvent: loop guard at runtime", () => {
  it("skips records that point into the destination prefix of the destination bucket", async () => {
    const { s3, run, upload } = setup({
      SOURCE_BUCKET: "media",
      DEST_BUCKET: "media",
      SOURCE_PREFIX: "uploads/",
      DEST_PREFIX: "thumbnails/",
    });
    await run(upload("uploads/a.jpg", await jpeg(300, 300)));
    expect(s3.keys("media")).toEqual(["thumbnails/uploads/a.jpg", "uploads/a.jpg"]);
    const thumbnail = s3.get("media", "thumbnails/uploads/a.jpg");
    const calls = s3.commands().length;

    // The notification filter should never send this; the handler must not act on it anyway.
    const [result] = await run({
      eventName: "ObjectCreated:Put",
      bucket: "media",
      key: "thumbnails/uploads/a.jpg",
      size: thumbnail?.body.length ?? 0,
      eTag: thumbnail?.eTag ?? "",
    });

    expect(result).toMatchObject({
      outcome: "skipped",
      reason: expect.stringMatching(/destination/),
    });
    expect(s3.commands().length).toBe(calls);
    expect(s3.keys("media")).toEqual(["thumbnails/uploads/a.jpg", "uploads/a.jpg"]);
  });

  it("skips records from another bucket or outside SOURCE_PREFIX", async () => {
    const { s3, run } = setup({ SOURCE_PREFIX: "uploads/" });

    const results = await run(
      { eventName: "ObjectCreated:Put", bucket: "other", key: "uploads/a.jpg", size: 5, eTag: "x" },
      { eventName: "ObjectCreated:Put", bucket: SOURCE, key: "private/a.jpg", size: 5, eTag: "x" },
    );

    expect(results.map((result) => result.outcome)).toEqual(["skipped", "skipped"]);
    expect(s3.commands()).toEqual([]);
  });
});

describe("processEvent: removed objects", () => {
  it.each(["ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated"])(
    "%s deletes the thumbnail",
    async (eventName) => {
      const { s3, run, upload } = setup({ DEST_PREFIX: "t/" });
      await run(upload("dir/a b.jpg", await jpeg(30, 30)));
      s3.objects.delete(`${SOURCE}/dir/a b.jpg`);
      expect(s3.keys(DEST)).toEqual(["t/dir/a b.jpg"]);

      const [result] = await run(removal("dir/a b.jpg", eventName));

      expect(result).toMatchObject({
        outcome: "deleted",
        outputs: [{ rendition: "default", bucket: DEST, key: "t/dir/a b.jpg" }],
      });
      expect(s3.keys(DEST)).toEqual([]);
    },
  );

  it("keeps the thumbnail when the source exists again (removal delivered after a re-upload)", async () => {
    const { s3, run, upload } = setup();
    await run(upload("a.jpg", await jpeg(30, 30)));

    const [result] = await run(removal("a.jpg"));

    expect(result?.outcome).toBe("skipped");
    expect(s3.keys(DEST)).toEqual(["a.jpg"]);
  });

  it("is idempotent when the thumbnail is already gone", async () => {
    const { s3, run } = setup();

    const results = await run(removal("never.jpg"), removal("never.jpg"));

    expect(results.map((result) => result.outcome)).toEqual(["deleted", "deleted"]);
    expect(s3.keys(DEST)).toEqual([]);
  });
});

describe("processEvent: permanent failures", () => {
  // The record names the settings it failed under, so a change of them retries it.
  const failureTags = (eTag: string | undefined, code: string, config: HandlerConfig) => [
    { Key: "owner", Value: "alice" },
    { Key: "thumbnailer-error", Value: code },
    { Key: "thumbnailer-error-etag", Value: eTag },
    { Key: "thumbnailer-error-settings", Value: settingsFingerprint(config) },
  ];

  it.each([
    ["corrupt bytes", "CORRUPT_INPUT", truncatedJpeg],
    [
      "bytes that are not an image",
      "UNSUPPORTED_FORMAT",
      async () => Buffer.from("hello, not an image"),
    ],
  ])(
    "records %s as %s on the source object's tags, keeping its tags, without throwing",
    async (_, code, body) => {
      const { s3, config, run, upload } = setup();
      const record = upload("bad.jpg", await body(), [{ Key: "owner", Value: "alice" }]);

      const [result] = await run(record);

      expect(result).toMatchObject({ outcome: "failed", code });
      expect(s3.get(SOURCE, "bad.jpg")?.tags).toEqual(failureTags(record.eTag, code, config));
      expect(s3.keys(DEST)).toEqual([]);
    },
  );

  // Both are decided from the event's size: no GetObject. (A truncatedJpeg under 1000 bytes would
  // be downloaded and fail as CORRUPT_INPUT, so the second case cannot pass by accident.)
  it.each([
    ["an empty object (size 0 in the event)", "EMPTY_INPUT", {}, async () => Buffer.alloc(0)],
    [
      "an object over MAX_INPUT_BYTES",
      "INPUT_TOO_LARGE",
      { MAX_INPUT_BYTES: "1000" },
      truncatedJpeg,
    ],
  ])(
    "records %s as %s without downloading it",
    async (_, code, env: Record<string, string>, body) => {
      const { s3, config, run, upload } = setup(env);
      const record = upload("input.jpg", await body(), [{ Key: "owner", Value: "alice" }]);

      const [result] = await run(record);

      expect(result).toMatchObject({ outcome: "failed", code });
      expect(s3.commands()).toEqual(["GetObjectTagging", "PutObjectTagging"]);
      expect(s3.get(SOURCE, "input.jpg")?.tags).toEqual(failureTags(record.eTag, code, config));
    },
  );

  it("checks the downloaded size when the event carries none, and closes the unread body", async () => {
    const { s3, config, run, upload } = setup({ MAX_INPUT_BYTES: "1000" });
    const { size, eTag, ...sizeless } = upload("big.jpg", await truncatedJpeg());

    const [result] = await run(sizeless);

    expect(result).toMatchObject({ outcome: "failed", code: "INPUT_TOO_LARGE" });
    expect(s3.commands()).toEqual(["GetObject", "GetObjectTagging", "PutObjectTagging"]);
    expect(s3.get(SOURCE, "big.jpg")?.tags).toEqual([
      { Key: "thumbnailer-error", Value: "INPUT_TOO_LARGE" },
      { Key: "thumbnailer-error-etag", Value: eTag },
      { Key: "thumbnailer-error-settings", Value: settingsFingerprint(config) },
    ]);
  });

  it("replaces an earlier failure record instead of adding a second one", async () => {
    const { s3, config, run, upload } = setup();
    const record = upload("bad.jpg", Buffer.from("not an image"), [
      { Key: "owner", Value: "alice" },
      { Key: "thumbnailer-error", Value: "CORRUPT_INPUT" },
      { Key: "thumbnailer-error-etag", Value: "older" },
      { Key: "thumbnailer-error-settings", Value: "0123456789abcdef" },
    ]);

    await run(record);

    expect(s3.get(SOURCE, "bad.jpg")?.tags).toEqual(
      failureTags(record.eTag, "UNSUPPORTED_FORMAT", config),
    );
  });

  it("throws (transient) when the failure cannot be recorded", async () => {
    const { s3, run, upload } = setup();
    const record = upload("bad.jpg", Buffer.from("not an image"));
    s3.fail("PutObjectTagging", "bad.jpg", slowDown());

    await expect(run(record)).rejects.toThrow(TransientError);
    expect(s3.get(SOURCE, "bad.jpg")?.tags).toEqual([]);
  });
});

describe("processEvent: transient failures", () => {
  it.each([
    ["a 503 SlowDown from GetObject", "GetObject", slowDown],
    ["throttling (429)", "GetObject", () => serviceError("TooManyRequestsException", 429)],
    // Not "gone": without s3:ListBucket S3 answers 403 for a missing key, but it is also what a
    // broken policy answers for an object that exists; skipping would lose the upload.
    ["an AccessDenied (403) from GetObject", "GetObject", () => serviceError("AccessDenied", 403)],
    ["a network error on PutObject", "PutObject", networkError],
    ["a connection reset while reading the object", "GetObjectBody", networkError],
  ])(
    "throws a TransientError after the other records are done, for %s",
    async (_, command, error) => {
      const { s3, run, upload, lines } = setup();
      const records = [
        upload("1.jpg", await jpeg(40, 40)),
        upload("2.jpg", await jpeg(40, 40)),
        upload("3.jpg", await jpeg(40, 40)),
      ];
      s3.fail(command, "2.jpg", error());

      const outcome = run(...records);

      await expect(outcome).rejects.toThrow(TransientError);
      await expect(outcome).rejects.toThrow(/1 of 3 record\(s\) failed transiently.*2\.jpg/);
      expect(s3.keys(DEST)).toEqual(["1.jpg", "3.jpg"]);
      expect(s3.get(SOURCE, "2.jpg")?.tags).toEqual([]);
      expect(lines.map((line) => [line.key, line.outcome, line.level])).toEqual(
        expect.arrayContaining([
          ["1.jpg", "created", "info"],
          ["2.jpg", "retry", "error"],
          ["3.jpg", "created", "info"],
        ]),
      );
    },
  );

  it("throws and keeps the thumbnail when HeadObject on a removed source is denied (403)", async () => {
    const { s3, run, upload } = setup();
    await run(upload("a.jpg", await jpeg(30, 30)));
    s3.objects.delete(`${SOURCE}/a.jpg`);
    s3.fail("HeadObject", "a.jpg", serviceError("AccessDenied", 403));

    const outcome = run(removal("a.jpg"));

    await expect(outcome).rejects.toThrow(TransientError);
    await expect(outcome).rejects.toThrow(/HeadObject s3:\/\/photos\/a\.jpg failed \(HTTP 403\)/);
    expect(s3.keys(DEST)).toEqual(["a.jpg"]);
  });

  it("throws when deleting a thumbnail fails", async () => {
    const { s3, run } = setup();
    s3.fail("DeleteObject", "a.jpg", slowDown());

    await expect(run(removal("a.jpg"))).rejects.toThrow(
      /DeleteObject s3:\/\/thumbs\/a\.jpg failed \(HTTP 503\)/,
    );
  });
});

describe("processEvent: configuration errors", () => {
  it("stops on a ConfigError met mid-record: throws it, logs a fatal line, touches no object", async () => {
    const { s3, config, lines, upload } = setup();
    const records = [upload("1.jpg", await jpeg(40, 40)), upload("2.jpg", await jpeg(40, 40))];
    // A limit the engine refuses (readConfig would have; a rendition list read mid-record may not).
    const broken = { ...config, limits: { ...config.limits, maxInputPixels: 0 } };
    const log = createLogger("debug", (line) => lines.push(JSON.parse(line)));

    const outcome = processEvent(s3Event(...records), { s3: s3.client, config: broken, log });

    await expect(outcome).rejects.toBeInstanceOf(ConfigError);
    await expect(outcome).rejects.toMatchObject({ code: "INVALID_CONFIG" });
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "error", outcome: "fatal", code: "INVALID_CONFIG" }),
    );
    expect(lines.some((line) => line.outcome === "retry" || line.outcome === "failed")).toBe(false);
    expect(s3.get(SOURCE, "1.jpg")?.tags).toEqual([]);
    expect(s3.get(SOURCE, "2.jpg")?.tags).toEqual([]);
    expect(s3.keys(DEST)).toEqual([]);
  });
});

describe("processEvent: bounded concurrency", () => {
  it.each([1, 3])("keeps at most CONCURRENCY=%i S3 calls in flight", async (concurrency) => {
    const { s3, run, upload } = setup({ CONCURRENCY: String(concurrency) });
    const image = await jpeg(16, 16);
    const records = Array.from({ length: 8 }, (_, index) => upload(`${index}.jpg`, image));
    s3.latencyMs = 15;

    const results = await run(...records);

    expect(results.map((result) => result.outcome)).toEqual(Array(8).fill("created"));
    expect(s3.maxInFlight).toBeLessThanOrEqual(concurrency);
    expect(s3.maxInFlight).toBe(concurrency);
  });
});

describe("processEvent: logs", () => {
  it("writes one JSON line per record with bucket, key, event, outcome and sizes, never raw errors", async () => {
    const { s3, run, upload, lines } = setup();
    const good = upload("good.jpg", await jpeg(512, 256));
    const bad = upload("bad.jpg", Buffer.from("not an image"));
    const flaky = upload("flaky.jpg", await jpeg(10, 10));
    s3.fail("GetObject", "flaky.jpg", slowDown());

    await expect(run(good, bad, flaky)).rejects.toThrow(TransientError);

    expect(lines).toHaveLength(3);
    const byKey = Object.fromEntries(lines.map((line) => [line.key, line]));
    expect(byKey["good.jpg"]).toMatchObject({
      level: "info",
      bucket: SOURCE,
      event: "ObjectCreated:Put",
      outcome: "created",
      input: { bytes: good.size, width: 512, height: 256, format: "jpeg" },
      outputs: [
        {
          rendition: "default",
          bucket: DEST,
          key: "good.jpg",
          width: 256,
          height: 128,
          format: "jpeg",
        },
      ],
      ms: expect.any(Number),
    });
    expect(byKey["bad.jpg"]).toMatchObject({
      level: "warn",
      outcome: "failed",
      code: "UNSUPPORTED_FORMAT",
    });
    expect(byKey["flaky.jpg"]).toMatchObject({
      level: "error",
      outcome: "retry",
      code: "S3_ERROR",
      reason: expect.stringMatching(/GetObject .*HTTP 503/),
    });
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/\$metadata|stack|\bat .*\.ts:\d+/);
  });

  it("reports a record it cannot read as failed, without throwing", async () => {
    const { run } = setup();

    const [result] = await run({
      eventName: "ObjectCreated:Put",
      bucket: SOURCE,
      key: "",
      rawKey: "%E0%A4%A.jpg",
    });

    expect(result).toMatchObject({ outcome: "failed", code: "INVALID_RECORD" });
  });
});
