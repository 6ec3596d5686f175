/**
 * S3 Batch Operations invocations (handler/batch-event.ts) against a real s3rver (integration,
 * free port): real images through the real engine, answered in Batch's result format.
 */

import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { processBatchEvent } from "../handler/batch-event";
import { readConfig } from "../handler/config";
import { configureSharp, defaultRendition, renditionSpec } from "../handler/engine";
import { createLogger } from "../handler/log";
import { settingsFingerprint } from "../handler/settings-fingerprint";
import { batchEventV1, batchEventV2, type TaskSpec } from "./support/batch-events";
import { describeImage, jpeg, truncatedJpeg } from "./support/handler-images";
import { get, localClient, put } from "./support/local-s3";
import { startTestS3, type TestS3 } from "./support/s3rver";

// The process's entry point: what handler/index.ts, make and serve do at start-up.
beforeAll(configureSharp);

describe("processBatchEvent (integration: real s3rver)", () => {
  let local: TestS3;
  let s3: S3Client;
  let bucketIndex = 0;
  let lines: Record<string, unknown>[];

  beforeAll(async () => {
    local = await startTestS3(
      Array.from({ length: 15 }, (_, index) => [`source-${index}`, `thumbs-${index}`]).flat(),
    );
    s3 = local.s3;
  });

  afterAll(() => local.close());

  /** A fresh pair of buckets per test, and the handler's dependencies for them. */
  function setup(client: S3Client = s3, env: Record<string, string> = {}) {
    const source = `source-${bucketIndex}`;
    const dest = `thumbs-${bucketIndex}`;
    bucketIndex += 1;
    lines = [];
    const config = readConfig({ SOURCE_BUCKET: source, DEST_BUCKET: dest, ...env });
    const log = createLogger("debug", (line) => lines.push(JSON.parse(line)));
    return { source, dest, config, deps: { s3: client, config, log } };
  }

  const KEYS = ["holiday/my photo.jpg", "a+b.jpg", "été/写真.jpg"];

  it("schema 2.0, mode missing: makes real thumbnails for awkward keys; a bad image, a missing key and an up-to-date object each get their result", async () => {
    const { source, dest, config, deps } = setup();
    for (const key of KEYS) await put(s3, source, key, await jpeg(600, 400));
    const badETag = await put(s3, source, "bad.jpg", await truncatedJpeg());
    const doneETag = await put(s3, source, "done.jpg", await jpeg(50, 50));
    // An up-to-date thumbnail: the right metadata, a body the handler would never write.
    await s3.send(
      new PutObjectCommand({
        Bucket: dest,
        Key: "done.jpg",
        Body: "kept",
        Metadata: {
          "source-bucket": source,
          "source-key": "done.jpg",
          "source-etag": doneETag,
          "thumbnail-spec": renditionSpec(defaultRendition()),
        },
      }),
    );
    const tasks = [...KEYS, "bad.jpg", "gone.jpg", "done.jpg"].map((key) => ({
      bucket: source,
      key,
    }));
    const event = batchEventV2({ mode: "missing" }, ...tasks);

    const response = await processBatchEvent(event, deps);

    expect(response).toEqual({
      invocationSchemaVersion: "2.0",
      treatMissingKeysAs: "PermanentFailure",
      invocationId: event.invocationId,
      results: [
        ...KEYS.map((key, index) => ({
          taskId: `task-${index}`,
          resultCode: "Succeeded",
          resultString: `created s3://${dest}/${key}`,
        })),
        {
          taskId: "task-3",
          resultCode: "PermanentFailure",
          resultString: expect.stringMatching(/^failed CORRUPT_INPUT: /),
        },
        {
          taskId: "task-4",
          resultCode: "PermanentFailure",
          resultString: "failed SOURCE_NOT_FOUND: the source object does not exist",
        },
        {
          taskId: "task-5",
          resultCode: "Succeeded",
          resultString: "skipped: every rendition is up to date",
        },
      ],
    });
    for (const key of KEYS) {
      const thumbnail = await get(s3, dest, key);
      expect(thumbnail?.metadata["source-key"]).toBe(encodeURIComponent(key));
      expect(await describeImage(thumbnail?.data ?? new Uint8Array())).toMatchObject({
        format: "jpeg",
        width: 256,
        height: 171,
      });
    }
    expect(Buffer.from((await get(s3, dest, "done.jpg"))?.data ?? []).toString()).toBe("kept");
    expect(await get(s3, dest, "bad.jpg")).toBeUndefined();
    // The same failure record as for an upload.
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: source, Key: "bad.jpg" }));
    expect(tags.TagSet).toEqual([
      { Key: "thumbnailer-error", Value: "CORRUPT_INPUT" },
      { Key: "thumbnailer-error-etag", Value: badETag },
      { Key: "thumbnailer-error-settings", Value: settingsFingerprint(config) },
    ]);
    expect(lines).toHaveLength(6);
    expect(lines).toContainEqual(
      expect.objectContaining({
        jobId: "job-2",
        taskId: "task-0",
        bucket: source,
        key: KEYS[0],
        event: "Backfill",
        outcome: "created",
      }),
    );
  });

  it("schema 1.0: reads the bucket from its ARN and the URL-encoded key, in mode missing", async () => {
    const { source, dest, deps } = setup();
    for (const key of KEYS) await put(s3, source, key, await jpeg(300, 300));
    const event = batchEventV1(...KEYS.map((key) => ({ bucket: source, key })));
    expect(event.tasks.map((task) => task.s3Key)).toEqual([
      "holiday/my+photo.jpg",
      "a%2Bb.jpg",
      "%C3%A9t%C3%A9/%E5%86%99%E7%9C%9F.jpg",
    ]);

    const response = await processBatchEvent(event, deps);

    expect(response.invocationSchemaVersion).toBe("1.0");
    expect(response.results.map((result) => result.resultCode)).toEqual(
      KEYS.map(() => "Succeeded"),
    );
    for (const key of KEYS) {
      const thumbnail = await get(s3, dest, key);
      expect(await describeImage(thumbnail?.data ?? new Uint8Array())).toMatchObject({
        width: 256,
        height: 256,
      });
    }
  });

  it("mode force remakes an up-to-date thumbnail; mode missing keeps it", async () => {
    const { source, dest, deps } = setup();
    const eTag = await put(s3, source, "a.jpg", await jpeg(100, 50));
    const current = {
      "source-bucket": source,
      "source-key": "a.jpg",
      "source-etag": eTag,
      "thumbnail-spec": renditionSpec(defaultRendition()),
    };
    await s3.send(
      new PutObjectCommand({ Bucket: dest, Key: "a.jpg", Body: "kept", Metadata: current }),
    );

    const missing = await processBatchEvent(
      batchEventV2({ mode: "missing" }, { bucket: source, key: "a.jpg" }),
      deps,
    );
    const kept = Buffer.from((await get(s3, dest, "a.jpg"))?.data ?? []).toString();
    const force = await processBatchEvent(
      batchEventV2({ mode: "force" }, { bucket: source, key: "a.jpg" }),
      deps,
    );

    expect(missing.results[0]?.resultString).toBe("skipped: every rendition is up to date");
    expect(kept).toBe("kept");
    expect(force.results[0]).toMatchObject({
      resultCode: "Succeeded",
      resultString: `created s3://${dest}/a.jpg`,
    });
    const remade = await get(s3, dest, "a.jpg");
    expect(await describeImage(remade?.data ?? new Uint8Array())).toMatchObject({
      width: 100,
      height: 50,
    });
  });

  describe("with three renditions", () => {
    const RENDITIONS = [
      { name: "small", width: 256, height: 256, fit: "inside", format: "jpeg" },
      { name: "square", width: 200, height: 200, fit: "cover", format: "webp" },
      { name: "card", width: 120, height: 63, fit: "cover", format: "png", prefix: "social/" },
    ];
    const PREFIXES = ["small/", "square/", "social/"];
    const KEY = "été/my photo.jpg";

    /** A client that records each command it sends as "Command bucket/key". */
    function recordingClient() {
      const client = localClient(local.endpoint);
      const sent: string[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Bucket?: string; Key?: string };
          sent.push(`${context.commandName} ${input.Bucket}/${input.Key}`);
          return next(args);
        },
        { step: "initialize", name: "recordCommands" },
      );
      return { client, sent };
    }

    /** ETag and LastModified of the small and card renditions of KEY. */
    const versions = (dest: string) =>
      Promise.all(
        ["small/", "social/"].map(async (prefix) => {
          const head = await s3.send(new HeadObjectCommand({ Bucket: dest, Key: prefix + KEY }));
          return { eTag: head.ETag, lastModified: head.LastModified?.toISOString() };
        }),
      );

    it("mode missing makes only the missing rendition, leaves the others' objects alone, then skips the object without downloading it", async () => {
      const { client, sent } = recordingClient();
      const { source, dest, deps } = setup(client, { RENDITIONS: JSON.stringify(RENDITIONS) });
      await put(s3, source, KEY, await jpeg(600, 400));
      const task = { bucket: source, key: KEY };
      await processBatchEvent(batchEventV2({ mode: "missing" }, task), deps);
      await s3.send(new DeleteObjectCommand({ Bucket: dest, Key: `square/${KEY}` }));
      const before = await versions(dest);
      sent.length = 0;

      const oneMissing = await processBatchEvent(batchEventV2({ mode: "missing" }, task), deps);
      const madeThen = sent.filter((line) => line.startsWith("PutObjectCommand"));
      sent.length = 0;
      const allCurrent = await processBatchEvent(batchEventV2({ mode: "missing" }, task), deps);

      expect(oneMissing.results[0]).toMatchObject({
        resultCode: "Succeeded",
        resultString: `created s3://${dest}/square/${KEY}`,
      });
      expect(madeThen).toEqual([`PutObjectCommand ${dest}/square/${KEY}`]);
      expect(await versions(dest)).toEqual(before);
      const square = await get(s3, dest, `square/${KEY}`);
      expect(await describeImage(square?.data ?? new Uint8Array())).toMatchObject({
        format: "webp",
        width: 200,
        height: 200,
      });
      expect(allCurrent.results[0]).toMatchObject({
        resultCode: "Succeeded",
        resultString: "skipped: every rendition is up to date",
      });
      // Up to date: one HEAD per rendition, the source never read.
      expect(sent.sort()).toEqual(
        PREFIXES.map((prefix) => `HeadObjectCommand ${dest}/${prefix}${KEY}`)
          .concat(`HeadObjectCommand ${source}/${KEY}`)
          .sort(),
      );
      client.destroy();
    });

    it("mode missing remakes only the rendition whose spec changed; mode force remakes all three", async () => {
      const { client, sent } = recordingClient();
      const first = setup(client, { RENDITIONS: JSON.stringify(RENDITIONS) });
      const { source, dest } = first;
      await put(s3, source, KEY, await jpeg(600, 400));
      const task = { bucket: source, key: KEY };
      await processBatchEvent(batchEventV2({ mode: "missing" }, task), first.deps);
      const changed = RENDITIONS.map((rendition) =>
        rendition.name === "card" ? { ...rendition, width: 60 } : rendition,
      );
      const config = readConfig({
        SOURCE_BUCKET: source,
        DEST_BUCKET: dest,
        RENDITIONS: JSON.stringify(changed),
      });
      const deps = { ...first.deps, config };
      sent.length = 0;

      const missing = await processBatchEvent(batchEventV2({ mode: "missing" }, task), deps);
      const madeMissing = sent.filter((line) => line.startsWith("PutObjectCommand"));
      sent.length = 0;
      const force = await processBatchEvent(batchEventV2({ mode: "force" }, task), deps);
      const madeForce = sent.filter((line) => line.startsWith("PutObjectCommand"));

      expect(missing.results[0]?.resultString).toBe(`created s3://${dest}/social/${KEY}`);
      expect(madeMissing).toEqual([`PutObjectCommand ${dest}/social/${KEY}`]);
      const card = await get(s3, dest, `social/${KEY}`);
      expect(await describeImage(card?.data ?? new Uint8Array())).toMatchObject({ width: 60 });
      expect(force.results[0]?.resultCode).toBe("Succeeded");
      expect(madeForce.sort()).toEqual(
        PREFIXES.map((prefix) => `PutObjectCommand ${dest}/${prefix}${KEY}`).sort(),
      );
      client.destroy();
    });
  });

  it("does not decode again an image that failed at this version, unless the mode is force", async () => {
    const { source, deps } = setup();
    const eTag = await put(s3, source, "bad.jpg", await jpeg(20, 20));
    // Recorded as failed for this very version (a real JPEG: only the record says it failed).
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: source,
        Key: "bad.jpg",
        Tagging: {
          TagSet: [
            { Key: "thumbnailer-error", Value: "CORRUPT_INPUT" },
            { Key: "thumbnailer-error-etag", Value: eTag },
          ],
        },
      }),
    );

    const missing = await processBatchEvent(
      batchEventV2({ mode: "missing" }, { bucket: source, key: "bad.jpg" }),
      deps,
    );
    const force = await processBatchEvent(
      batchEventV2({ mode: "force" }, { bucket: source, key: "bad.jpg" }),
      deps,
    );

    expect(missing.results[0]).toMatchObject({
      resultCode: "PermanentFailure",
      resultString: expect.stringMatching(/^failed CORRUPT_INPUT: failed before/),
    });
    expect(force.results[0]?.resultCode).toBe("Succeeded");
  });

  it("retries a failure recorded under other settings, the result replacing the record; under the same settings it stays failed", async () => {
    const { source, dest, deps } = setup(s3, { MAX_INPUT_PIXELS: "10000" });
    await put(s3, source, "big.jpg", await jpeg(200, 100));
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: source,
        Key: "big.jpg",
        Tagging: { TagSet: [{ Key: "owner", Value: "alice" }] },
      }),
    );
    const task = batchEventV2({ mode: "missing" }, { bucket: source, key: "big.jpg" });
    const under = (limit: string) => ({
      ...deps,
      config: readConfig({ SOURCE_BUCKET: source, DEST_BUCKET: dest, MAX_INPUT_PIXELS: limit }),
    });
    const tags = async () =>
      (await s3.send(new GetObjectTaggingCommand({ Bucket: source, Key: "big.jpg" }))).TagSet;

    const first = await processBatchEvent(task, deps);
    const same = await processBatchEvent(task, under("10000"));
    const stillTooLow = await processBatchEvent(task, under("15000"));
    const recorded = await tags();
    const sameAgain = await processBatchEvent(task, under("15000"));
    const raised = await processBatchEvent(task, under("1000000"));

    expect(first.results[0]?.resultString).toMatch(/^failed TOO_MANY_PIXELS: /);
    expect(same.results[0]?.resultString).toMatch(/^failed TOO_MANY_PIXELS: failed before/);
    // Retried under the new limit: failed again, recorded under the new settings.
    expect(stillTooLow.results[0]?.resultString).toMatch(
      /^failed TOO_MANY_PIXELS: (?!failed before)/,
    );
    expect(recorded).toContainEqual({
      Key: "thumbnailer-error-settings",
      Value: settingsFingerprint(under("15000").config),
    });
    expect(sameAgain.results[0]?.resultString).toMatch(/^failed TOO_MANY_PIXELS: failed before/);
    expect(raised.results[0]).toMatchObject({
      resultCode: "Succeeded",
      resultString: `created s3://${dest}/big.jpg`,
    });
    expect(
      await describeImage((await get(s3, dest, "big.jpg"))?.data ?? new Uint8Array()),
    ).toMatchObject({
      width: 200,
      height: 100,
    });
    expect(await tags()).toEqual([{ Key: "owner", Value: "alice" }]);
  });

  it.each([
    ["schema 1.0 (no user arguments)", (task: TaskSpec) => batchEventV1(task)],
    ["schema 2.0 without a mode", (task: TaskSpec) => batchEventV2({}, task)],
  ])("%s: mode missing, so an up-to-date thumbnail is kept, not remade", async (_, event) => {
    const { source, dest, deps } = setup();
    const eTag = await put(s3, source, "a.jpg", await jpeg(100, 50));
    const current = {
      "source-bucket": source,
      "source-key": "a.jpg",
      "source-etag": eTag,
      "thumbnail-spec": renditionSpec(defaultRendition()),
    };
    const kept = await s3.send(
      new PutObjectCommand({ Bucket: dest, Key: "a.jpg", Body: "kept", Metadata: current }),
    );

    const response = await processBatchEvent(event({ bucket: source, key: "a.jpg" }), deps);

    expect(response.results).toEqual([
      {
        taskId: "task-0",
        resultCode: "Succeeded",
        resultString: "skipped: every rendition is up to date",
      },
    ]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: dest, Key: "a.jpg" }));
    expect(head.ETag).toBe(kept.ETag);
  });

  it("answers PermanentFailure with the reason when the configuration cannot work: Batch must not retry it", async () => {
    // Arrange: limits readConfig would refuse, so the engine refuses them (ConfigError)
    const { source, dest, config, deps } = setup();
    await put(s3, source, "a.jpg", await jpeg(20, 20));
    const broken = { ...config, limits: { ...config.limits, maxInputPixels: 0 } };

    // Act
    const response = await processBatchEvent(
      batchEventV2({ mode: "missing" }, { bucket: source, key: "a.jpg" }),
      { ...deps, config: broken },
    );

    // Assert: permanent, the code and the reason; nothing written, nothing recorded
    expect(response.results).toEqual([
      {
        taskId: "task-0",
        resultCode: "PermanentFailure",
        resultString: expect.stringMatching(
          /^fatal INVALID_CONFIG: Invalid limit maxInputPixels: 0; expected /,
        ),
      },
    ]);
    expect(await get(s3, dest, "a.jpg")).toBeUndefined();
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: source, Key: "a.jpg" }));
    expect(tags.TagSet).toEqual([]);
  });

  it("fails every task permanently, writing nothing, when the mode argument is unknown", async () => {
    const { source, dest, deps } = setup();
    await put(s3, source, "a.jpg", await jpeg(20, 20));

    const response = await processBatchEvent(
      batchEventV2({ mode: "everything" }, { bucket: source, key: "a.jpg" }),
      deps,
    );

    expect(response.results).toEqual([
      {
        taskId: "task-0",
        resultCode: "PermanentFailure",
        resultString:
          'failed INVALID_TASK: userArguments.mode="everything" is invalid: expected one of missing, force',
      },
    ]);
    expect(await get(s3, dest, "a.jpg")).toBeUndefined();
  });

  it("answers TemporaryFailure when S3 cannot be reached, so Batch retries the task", async () => {
    const unreachable = new S3Client({
      endpoint: "http://127.0.0.1:9",
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
      maxAttempts: 1,
    });
    const { source, deps } = setup(unreachable);

    const response = await processBatchEvent(
      batchEventV2({ mode: "missing" }, { bucket: source, key: "a.jpg" }),
      deps,
    );
    unreachable.destroy();

    expect(response.results).toEqual([
      {
        taskId: "task-0",
        resultCode: "TemporaryFailure",
        resultString: expect.stringMatching(
          /^retry S3_ERROR: HeadObject s3:\/\/source-\d+\/a\.jpg failed/,
        ),
      },
    ]);
  });
});
