/**
 * Renditions through the S3-event layer (integration: real s3rver on a free port, real sharp):
 * three renditions per upload, written, overwritten and removed together, under awkward keys,
 * and one PutObject failing once.
 */

import { DeleteObjectCommand, GetObjectTaggingCommand, type S3Client } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { createSequencer, type ObjectChange, s3Event } from "../cli/synthetic-event";
import { readConfig } from "../handler/config";
import { configureSharp, renditionSpec } from "../handler/engine";
import { TransientError } from "../handler/errors";
import { createLogger } from "../handler/log";
import { processEvent } from "../handler/process-event";
import { settingsFingerprint } from "../handler/settings-fingerprint";
import { jpeg } from "./support/handler-images";
import { animatedFrames, GREEN, RED } from "./support/images";
import { get, listKeys, localClient, put } from "./support/local-s3";
import { startTestS3, type TestS3 } from "./support/s3rver";

beforeAll(configureSharp);

const RENDITIONS = [
  { name: "small", width: 256, height: 256, fit: "inside", format: "jpeg" },
  { name: "square", width: 200, height: 200, fit: "cover", position: "attention", format: "webp" },
  { name: "card", width: 120, height: 63, fit: "cover", format: "png", prefix: "social/" },
];
const PREFIXES = ["small/", "square/", "social/"];
const KEYS = ["holiday/my photo.jpg", "été/写真 1.jpg"];

describe("renditions in the handler (integration: real s3rver)", () => {
  let local: TestS3;
  let s3: S3Client;
  const events = { region: "us-east-1", sequencer: createSequencer() };
  const log = createLogger("error", () => undefined);

  beforeAll(async () => {
    local = await startTestS3(["photos", "thumbs"]);
    s3 = local.s3;
  });

  afterAll(() => local.close());

  const config = () =>
    readConfig({
      SOURCE_BUCKET: "photos",
      DEST_BUCKET: "thumbs",
      RENDITIONS: JSON.stringify(RENDITIONS),
    });
  const run = (change: ObjectChange, client: S3Client = s3) =>
    processEvent(s3Event(change, events), { s3: client, config: config(), log });
  const created = async (key: string, body: Buffer): Promise<ObjectChange> => {
    const eTag = await put(s3, "photos", key, body);
    return { eventName: "ObjectCreated:Put", bucket: "photos", key, size: body.length, eTag };
  };
  const rendered = async (key: string) =>
    Promise.all(
      PREFIXES.map(async (prefix) => {
        const object = await get(s3, "thumbs", prefix + key);
        if (object === undefined) return undefined;
        const metadata = await sharp(object.data).metadata();
        return {
          contentType: object.contentType,
          size: [metadata.width, metadata.height],
          meta: object.metadata,
        };
      }),
    );

  it("writes all three renditions of each upload under their prefixes, keys byte for byte", async () => {
    for (const key of KEYS) {
      const change = await created(key, await jpeg(800, 600, "#c83228"));

      const [result] = await run(change);

      expect(result).toMatchObject({ outcome: "created" });
      expect(result?.outputs?.map((o) => [o.rendition, o.key])).toEqual([
        ["small", `small/${key}`],
        ["square", `square/${key}`],
        ["card", `social/${key}`],
      ]);
      const specs = config().renditions.map(renditionSpec);
      expect(await rendered(key)).toEqual([
        {
          contentType: "image/jpeg",
          size: [256, 192],
          meta: {
            "source-bucket": "photos",
            "source-key": encodeURIComponent(key),
            "source-etag": change.eTag,
            "thumbnail-spec": specs[0],
          },
        },
        {
          contentType: "image/webp",
          size: [200, 200],
          meta: expect.objectContaining({ "source-etag": change.eTag, "thumbnail-spec": specs[1] }),
        },
        {
          contentType: "image/png",
          size: [120, 63],
          meta: expect.objectContaining({ "source-etag": change.eTag, "thumbnail-spec": specs[2] }),
        },
      ]);
    }
  });

  it("rewrites every rendition when the source is overwritten; the stale event changes nothing", async () => {
    const [key] = KEYS as [string];
    const old = await created(key, await jpeg(800, 600));
    await run(old);
    const change = await created(key, await jpeg(300, 600));

    const [stale] = await run(old);
    const [result] = await run(change);

    expect(stale).toMatchObject({ outcome: "skipped" });
    expect(result).toMatchObject({ outcome: "created" });
    const after = await rendered(key);
    expect(after.map((r) => [r?.size, r?.meta["source-etag"]])).toEqual([
      [[128, 256], change.eTag],
      [[200, 200], change.eTag],
      [[120, 63], change.eTag],
    ]);
  });

  it("removes every rendition of a removed source and leaves the others", async () => {
    const [gone, kept] = KEYS as [string, string];
    await run(await created(gone, await jpeg(400, 300)));
    await run(await created(kept, await jpeg(400, 300)));
    await s3.send(new DeleteObjectCommand({ Bucket: "photos", Key: gone }));

    const [result] = await run({ eventName: "ObjectRemoved:Delete", bucket: "photos", key: gone });

    expect(result).toMatchObject({ outcome: "deleted" });
    expect(result?.outputs?.map((o) => o.key)).toEqual(PREFIXES.map((p) => p + gone));
    expect(await rendered(gone)).toEqual([undefined, undefined, undefined]);
    expect((await rendered(kept)).every((r) => r !== undefined)).toBe(true);
  });

  it("retries the record when one rendition's PutObject fails once: nothing lost or duplicated", async () => {
    const key = "retry me.jpg";
    const change = await created(key, await jpeg(640, 480));
    // A client whose first PutObject of the square rendition fails like a throttled S3.
    const flaky = localClient(local.endpoint);
    let failures = 0;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (context.commandName === "PutObjectCommand" && input.Key === `square/${key}`) {
          if (failures++ === 0) {
            throw Object.assign(new Error("Please reduce your request rate."), {
              name: "SlowDown",
              $metadata: { httpStatusCode: 503 },
            });
          }
        }
        return next(args);
      },
      { step: "initialize", name: "failSquareOnce" },
    );

    const first = await run(change, flaky).catch((error: unknown) => error);
    const [second] = await run(change, flaky);
    flaky.destroy();

    expect(first).toBeInstanceOf(TransientError);
    expect(second).toMatchObject({ outcome: "created" });
    const keys = (await listKeys(s3, "thumbs")).filter((k) => k.endsWith(key));
    expect(keys.sort()).toEqual(PREFIXES.map((p) => p + key).sort());
    expect((await rendered(key)).map((r) => r?.meta["source-etag"])).toEqual([
      change.eTag,
      change.eTag,
      change.eTag,
    ]);
  });

  it("makes the still renditions of a GIF whose frames are over the pixel limit; only the animated one fails, recorded", async () => {
    // 40 frames of 100x100 (0.4 MP in all) against a limit of 0.1 MP: one frame fits.
    const animated = [
      { name: "small", width: 64, height: 64, format: "jpeg" },
      { name: "anim", width: 64, height: 64, format: "webp", animated: true },
    ];
    const limited = readConfig({
      SOURCE_BUCKET: "photos",
      DEST_BUCKET: "thumbs",
      RENDITIONS: JSON.stringify(animated),
      MAX_INPUT_PIXELS: "100000",
    });
    const colours = Array.from({ length: 40 }, (_, i) => (i % 2 ? GREEN : RED));
    const key = "screencast.gif";
    const change = await created(key, await animatedFrames(100, 100, colours).gif().toBuffer());

    const [result] = await processEvent(s3Event(change, events), { s3, config: limited, log });

    expect(result).toMatchObject({
      outcome: "failed",
      code: "TOO_MANY_PIXELS",
      reason: 'rendition "anim": Input is 40 frames of 100×100 = 0.4 MP, over the 0.1 MP limit',
    });
    expect(result?.outputs?.map((output) => output.key)).toEqual([`small/${key}`]);
    const small = await get(s3, "thumbs", `small/${key}`);
    expect(small?.metadata["source-etag"]).toBe(change.eTag);
    expect(await get(s3, "thumbs", `anim/${key}`)).toBeUndefined();
    // The failure is recorded for this version, so a backfill does not decode it again.
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: "photos", Key: key }));
    expect(tags.TagSet).toEqual([
      { Key: "thumbnailer-error", Value: "TOO_MANY_PIXELS" },
      { Key: "thumbnailer-error-etag", Value: change.eTag },
      { Key: "thumbnailer-error-settings", Value: settingsFingerprint(limited) },
    ]);
  });

  it("fails every rendition once for a bad input: one failure record, no outputs", async () => {
    const key = "broken.jpg";
    const bytes = await jpeg(400, 300);
    const change = await created(key, bytes.subarray(0, bytes.length >> 1));

    const results = await run(change);

    expect(results).toEqual([
      expect.objectContaining({ outcome: "failed", code: "CORRUPT_INPUT" }),
    ]);
    expect(await rendered(key)).toEqual([undefined, undefined, undefined]);
  });
});
