/**
 * Reconciliation (handler/reconcile.ts) against a real s3rver (integration, free port): which
 * objects it reports as work, from S3 API calls alone.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import sharp from "sharp";
import { reconcile } from "../cli/reconcile";
import { createSequencer } from "../cli/synthetic-event";
import { readConfig } from "../handler/config";
import { configureSharp, defaultRendition, renditionSpec } from "../handler/engine";
import { decodeEventKey } from "../handler/keys";
import { createLogger } from "../handler/log";
import { processEvent } from "../handler/process-event";
import { settingsFingerprint } from "../handler/settings-fingerprint";
import { exists, put, waitFor } from "./support/local-s3";
import { startTestService, type TestService } from "./support/local-service";
import { startTestS3, type TestS3 } from "./support/s3rver";

describe("reconcile (integration: real s3rver)", () => {
  let local: TestS3;
  let s3: S3Client;

  beforeAll(async () => {
    configureSharp();
    local = await startTestS3(["source", "thumbnails"]);
    s3 = local.s3;
  });

  afterAll(() => local.close());

  const config = readConfig({ SOURCE_BUCKET: "source", DEST_BUCKET: "thumbnails" });

  async function thumbnail(key: string, metadata: Record<string, string>): Promise<void> {
    await s3.send(
      new PutObjectCommand({ Bucket: "thumbnails", Key: key, Body: "thumb", Metadata: metadata }),
    );
  }

  async function tagFailure(key: string, eTag: string): Promise<void> {
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: "source",
        Key: key,
        Tagging: {
          TagSet: [
            { Key: "thumbnailer-error", Value: "CORRUPT_INPUT" },
            { Key: "thumbnailer-error-etag", Value: eTag },
          ],
        },
      }),
    );
  }

  it("reports missing, outdated and retriable objects, and thumbnails whose source is gone", async () => {
    // Arrange: one source object in each state
    const ours = (key: string, eTag: string, spec = renditionSpec(defaultRendition())) => ({
      "source-bucket": "source",
      "source-key": encodeURIComponent(key),
      "source-etag": eTag,
      "thumbnail-spec": spec,
    });
    await put(s3, "source", "missing thumb.jpg", Buffer.from("a"));
    const current = await put(s3, "source", "current.jpg", Buffer.from("b"));
    await thumbnail("current.jpg", ours("current.jpg", current));
    const changed = await put(s3, "source", "changed.jpg", Buffer.from("c"));
    await thumbnail("changed.jpg", ours("changed.jpg", "0123456789abcdef0123456789abcdef"));
    const respec = await put(s3, "source", "other-spec.jpg", Buffer.from("d"));
    await thumbnail("other-spec.jpg", ours("other-spec.jpg", respec, "64x64-cover-q50.webp"));
    const bad = await put(s3, "source", "bad.jpg", Buffer.from("e"));
    await tagFailure("bad.jpg", bad);
    await put(s3, "source", "fixed.jpg", Buffer.from("f"));
    await tagFailure("fixed.jpg", "an-older-version");
    await thumbnail("gone/source.jpg", ours("gone/source.jpg", "x"));
    await thumbnail("not-ours.jpg", {});

    // Act
    const events = [];
    for await (const work of reconcile(
      { s3, config },
      { region: "us-east-1", sequencer: createSequencer() },
    )) {
      events.push(work.event);
    }

    // Assert
    const work = events.map((event) => {
      const record = event.Records[0];
      return `${record?.eventName} ${decodeEventKey(record?.s3.object.key ?? "")}`;
    });
    expect(work.sort()).toEqual(
      [
        "ObjectCreated:Put changed.jpg",
        "ObjectCreated:Put fixed.jpg",
        "ObjectCreated:Put missing thumb.jpg",
        "ObjectCreated:Put other-spec.jpg",
        "ObjectRemoved:Delete gone/source.jpg",
      ].sort(),
    );
    const created = events.find((event) => event.Records[0]?.s3.object.key === "changed.jpg")
      ?.Records[0];
    expect(created?.s3.object).toMatchObject({ eTag: changed, size: 1 });
  });

  it("retries a failure recorded under other settings and clears its record; one under these settings, or without settings (older versions), stays", async () => {
    const env = { SOURCE_BUCKET: "source", SOURCE_PREFIX: "healed/", DEST_BUCKET: "thumbnails" };
    const healing = readConfig({ ...env, DEST_PREFIX: "healed/" });
    const record = async (key: string, settings: string | undefined) => {
      const eTag = await put(s3, "source", key, Buffer.from(key));
      const TagSet = [
        { Key: "owner", Value: "alice" },
        { Key: "thumbnailer-error", Value: "TOO_MANY_PIXELS" },
        { Key: "thumbnailer-error-etag", Value: eTag },
        ...(settings === undefined ? [] : [{ Key: "thumbnailer-error-settings", Value: settings }]),
      ];
      await s3.send(
        new PutObjectTaggingCommand({ Bucket: "source", Key: key, Tagging: { TagSet } }),
      );
      return TagSet;
    };
    await record("healed/other-settings.jpg", "0123456789abcdef");
    const same = await record("healed/same-settings.jpg", settingsFingerprint(healing));
    const old = await record("healed/no-settings.jpg", undefined);
    const retried: string[] = [];

    const work = [];
    for await (const item of reconcile(
      { s3, config: healing },
      { region: "us-east-1", sequencer: createSequencer() },
      { removeOrphans: false, onRetry: (key) => retried.push(key) },
    )) {
      work.push(decodeEventKey(item.event.Records[0]?.s3.object.key ?? ""));
    }

    expect(work).toEqual(["healed/other-settings.jpg"]);
    expect(retried).toEqual(["healed/other-settings.jpg"]);
    const tags = async (key: string) =>
      (await s3.send(new GetObjectTaggingCommand({ Bucket: "source", Key: key }))).TagSet;
    expect(await tags("healed/other-settings.jpg")).toEqual([{ Key: "owner", Value: "alice" }]);
    expect(await tags("healed/same-settings.jpg")).toEqual(same);
    expect(await tags("healed/no-settings.jpg")).toEqual(old);
  });

  it("remakes exactly the renditions that are missing or whose spec changed", async () => {
    // Arrange: three renditions made of one real image, then one deleted and one re-specified
    const list = [
      { name: "small", width: 256, height: 256, fit: "inside", format: "jpeg" },
      { name: "square", width: 200, height: 200, fit: "cover", format: "webp" },
      { name: "anim", width: 128, height: 128, fit: "inside", format: "webp", animated: true },
    ];
    const env = {
      SOURCE_BUCKET: "source",
      SOURCE_PREFIX: "three/",
      DEST_BUCKET: "thumbnails",
      DEST_PREFIX: "three/",
    };
    const before = readConfig({ ...env, RENDITIONS: JSON.stringify(list) });
    const image = await sharp({
      create: { width: 640, height: 480, channels: 3, background: "#3a7" },
    })
      .jpeg()
      .toBuffer();
    const eTag = await put(s3, "source", "three/photo.jpg", image);
    const log = createLogger("error");
    const puts: string[] = [];
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutObjectCommand") {
          puts.push(String((args.input as { Key?: string }).Key));
        }
        return next(args);
      },
      { step: "initialize", name: "recordPuts" },
    );
    const source = { region: "us-east-1", sequencer: createSequencer() };
    for await (const work of reconcile({ s3, config: before }, source)) {
      await processEvent(work.event, { s3, config: before, log }, work.renditions);
    }
    await s3.send(
      new DeleteObjectCommand({ Bucket: "thumbnails", Key: "three/small/three/photo.jpg" }),
    );
    const respecified = list.map((r) =>
      r.name === "square" ? { ...r, position: "attention" } : r,
    );
    const after = readConfig({ ...env, RENDITIONS: JSON.stringify(respecified) });
    const headAnim = () =>
      s3.send(new HeadObjectCommand({ Bucket: "thumbnails", Key: "three/anim/three/photo.jpg" }));
    const anim = await headAnim();
    puts.length = 0;

    // Act
    const work = [];
    for await (const item of reconcile({ s3, config: after }, source, { removeOrphans: false })) {
      work.push(item);
      await processEvent(item.event, { s3, config: after, log }, item.renditions);
    }

    // Assert: one event for the image, with the two stale renditions, and only they were written
    expect(work.map((item) => item.renditions.map((r) => r.name).sort())).toEqual([
      ["small", "square"],
    ]);
    expect(puts.sort()).toEqual(["three/small/three/photo.jpg", "three/square/three/photo.jpg"]);
    const square = await s3.send(
      new HeadObjectCommand({ Bucket: "thumbnails", Key: "three/square/three/photo.jpg" }),
    );
    expect(square.Metadata).toMatchObject({
      "source-etag": eTag,
      "thumbnail-spec": "200x200-cover-attention-q80.webp",
    });
    const animAfter = await headAnim();
    expect(animAfter.ETag).toBe(anim.ETag);
    expect(animAfter.LastModified).toEqual(anim.LastModified);
    s3.middlewareStack.remove("recordPuts");
  });

  describe("objects of renditions no longer configured", () => {
    const env = {
      SOURCE_BUCKET: "source",
      SOURCE_PREFIX: "pruned/",
      DEST_BUCKET: "thumbnails",
      DEST_PREFIX: "pruned/",
    };
    const list = [{ name: "small", width: 64, height: 64, fit: "inside", format: "jpeg" }];
    const config = readConfig({ ...env, RENDITIONS: JSON.stringify(list) });
    const ours = (key: string, eTag: string, spec: string) => ({
      "source-bucket": "source",
      "source-key": encodeURIComponent(key),
      "source-etag": eTag,
      "thumbnail-spec": spec,
    });

    /** A source with its configured rendition and one of a rendition dropped from the list. */
    async function arrange(key: string): Promise<void> {
      const eTag = await put(s3, "source", key, Buffer.from(key));
      await thumbnail(`pruned/small/${key}`, ours(key, eTag, "64x64-inside-q80.jpeg"));
      await thumbnail(`pruned/large/${key}`, ours(key, eTag, "1024x1024-inside-q80.jpeg"));
      await thumbnail(`pruned/large/not-ours-${key}`, {});
    }

    async function run(prune: boolean): Promise<{ work: number; unconfigured: string[] }> {
      const unconfigured: string[] = [];
      let work = 0;
      for await (const _ of reconcile(
        { s3, config },
        { region: "us-east-1", sequencer: createSequencer() },
        { prune, onUnconfigured: (key, deleted) => unconfigured.push(`${key} ${deleted}`) },
      )) {
        work += 1;
      }
      return { work, unconfigured };
    }

    const exists = (key: string) =>
      s3.send(new HeadObjectCommand({ Bucket: "thumbnails", Key: key })).then(
        () => true,
        () => false,
      );

    it("are counted and left in place without prune", async () => {
      await arrange("pruned/kept.jpg");

      const { work, unconfigured } = await run(false);

      expect(work).toBe(0);
      expect(unconfigured).toEqual(["pruned/large/pruned/kept.jpg false"]);
      expect(await exists("pruned/large/pruned/kept.jpg")).toBe(true);
      expect(await exists("pruned/small/pruned/kept.jpg")).toBe(true);
      await s3.send(new DeleteObjectCommand({ Bucket: "source", Key: "pruned/kept.jpg" }));
      await s3.send(
        new DeleteObjectCommand({ Bucket: "thumbnails", Key: "pruned/large/pruned/kept.jpg" }),
      );
      await s3.send(
        new DeleteObjectCommand({ Bucket: "thumbnails", Key: "pruned/small/pruned/kept.jpg" }),
      );
    });

    it("are deleted with prune, and nothing else is", async () => {
      await arrange("pruned/gone.jpg");

      const { work, unconfigured } = await run(true);

      expect(work).toBe(0);
      expect(unconfigured).toEqual(["pruned/large/pruned/gone.jpg true"]);
      expect(await exists("pruned/large/pruned/gone.jpg")).toBe(false);
      expect(await exists("pruned/small/pruned/gone.jpg")).toBe(true);
      expect(await exists("pruned/large/not-ours-pruned/gone.jpg")).toBe(true);
    });
  });
});

describe("reconciliation at serve start-up (integration: the local service)", () => {
  it("retries the failures recorded under other settings after a restart with new ones, and says how many", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "thumbnailer-heal-"));
    // 200x100 = 20,000 pixels: over a limit of 10,000.
    const image = await sharp({
      create: { width: 200, height: 100, channels: 3, background: "#a37" },
    })
      .jpeg()
      .toBuffer();
    let running: TestService | undefined;
    const serve = async (limit: string) => {
      const previous = running;
      running = undefined;
      await previous?.close();
      running = await startTestService({ dataDir, handlerEnv: { MAX_INPUT_PIXELS: limit } });
      return running;
    };
    const retrying = (logs: Record<string, unknown>[]) =>
      logs.filter((line) => line.msg === "retrying failures recorded under other settings");
    try {
      const first = await serve("10000");
      await put(first.s3, "source", "big.jpg", image);
      await waitFor("the failure record", async () =>
        (await first.failures()).some((entry) => entry.key === "big.jpg") ? true : undefined,
      );

      const same = await serve("10000");
      await same.service.idle();
      const sameMade = await exists(same.s3, "thumbnails", "big.jpg");
      const raised = await serve("1000000");
      await raised.service.idle();

      expect(retrying(same.logs)).toEqual([]);
      expect(sameMade).toBe(false);
      expect(retrying(raised.logs)).toEqual([
        expect.objectContaining({ level: "info", bucket: "source", objects: 1 }),
      ]);
      expect(await exists(raised.s3, "thumbnails", "big.jpg")).toBe(true);
      const { TagSet } = await raised.s3.send(
        new GetObjectTaggingCommand({ Bucket: "source", Key: "big.jpg" }),
      );
      expect(TagSet).toEqual([]);
    } finally {
      await running?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
