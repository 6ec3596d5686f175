/**
 * The local service's crash-safe s3rver store (integration: real s3rver on a free port): an
 * object being written is invisible until complete, its side files (metadata, md5, tags) are
 * replaced by rename, and damaged side files are repaired.
 */

import { link, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import {
  CopyObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { repairStore } from "../cli/serve/repair-store";
import { get, put } from "./support/local-s3";
import { startTestS3, type TestS3 } from "./support/s3rver";

describe("crash-safe s3rver store (integration)", () => {
  let local: TestS3;
  let s3: S3Client;

  beforeEach(async () => {
    local = await startTestS3(["bucket"]);
    s3 = local.s3;
  });

  afterEach(() => local.close());

  it("keeps the old version readable until the new one is complete", async () => {
    await put(s3, "bucket", "photo.jpg", Buffer.from("old version"));
    const half = Buffer.alloc(64 * 1024, 1);
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const body = Readable.from(
      (async function* () {
        yield half;
        await gate;
        yield half;
      })(),
    );

    const writing = s3.send(
      new PutObjectCommand({
        Bucket: "bucket",
        Key: "photo.jpg",
        Body: body,
        ContentLength: half.length * 2,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = await get(s3, "bucket", "photo.jpg");
    const tmpDuring = await readdir(local.tmpDir);
    release();
    await writing;

    expect(Buffer.from(during?.data ?? []).toString()).toBe("old version");
    expect(tmpDuring).toHaveLength(1); // the new bytes were going to a temporary file
    expect((await get(s3, "bucket", "photo.jpg"))?.data.length).toBe(half.length * 2);
    expect(await readdir(local.tmpDir)).toEqual([]);
  });

  it("repairs the empty metadata file a killed s3rver leaves, so the bucket lists again", async () => {
    await put(s3, "bucket", "a/one.jpg", Buffer.from("1"));
    await put(s3, "bucket", "two.jpg", Buffer.from("2"));
    await writeFile(path.join(local.storeDir, "bucket", "a", "one.jpg._S3rver_metadata.json"), "");
    await expect(s3.send(new ListObjectsV2Command({ Bucket: "bucket" }))).rejects.toThrow();

    const removed = await repairStore(local.storeDir);

    expect(removed).toEqual([
      path.join(local.storeDir, "bucket", "a", "one.jpg._S3rver_metadata.json"),
    ]);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "bucket" }));
    expect(listed.Contents?.map((object) => object.Key).sort()).toEqual(["a/one.jpg", "two.jpg"]);
  });

  it("replaces metadata, md5 and tags by rename, so a reader of the previous files never sees them change", async () => {
    // Arrange: an object with metadata, md5 and tags, each side file hard-linked to stand for a
    // reader that has it open (a write in place would change what the reader sees).
    await s3.send(
      new PutObjectCommand({
        Bucket: "bucket",
        Key: "photo.jpg",
        Body: Buffer.from("old bytes"),
        Metadata: { version: "old" },
      }),
    );
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: "bucket",
        Key: "photo.jpg",
        Tagging: { TagSet: [{ Key: "version", Value: "old" }] },
      }),
    );
    const bucketDir = path.join(local.storeDir, "bucket");
    const sideFiles = (await readdir(bucketDir)).filter((name) =>
      /^photo\.jpg\._S3rver_(metadata\.json|object\.md5|tagging\.xml)$/.test(name),
    );
    expect(sideFiles).toHaveLength(3);
    const before = new Map<string, string>();
    for (const name of sideFiles) {
      await link(path.join(bucketDir, name), path.join(local.dir, `reader-${name}`));
      before.set(name, await readFile(path.join(bucketDir, name), "utf8"));
    }

    // Act: new tags, then a copy onto itself with new metadata (rewrites metadata and md5)
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: "bucket",
        Key: "photo.jpg",
        Tagging: { TagSet: [{ Key: "version", Value: "new" }] },
      }),
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket: "bucket",
        Key: "photo.jpg",
        CopySource: "bucket/photo.jpg",
        MetadataDirective: "REPLACE",
        Metadata: { version: "new" },
      }),
    );

    // Assert: each reader still has the whole previous file; the store has the new ones
    for (const name of sideFiles) {
      const reader = path.join(local.dir, `reader-${name}`);
      expect(await readFile(reader, "utf8")).toBe(before.get(name));
      // The md5 is the same for the same bytes: only a new file (inode) shows it was replaced.
      expect((await stat(path.join(bucketDir, name))).ino).not.toBe((await stat(reader)).ino);
    }
    expect((await get(s3, "bucket", "photo.jpg"))?.metadata).toEqual({ version: "new" });
    const { TagSet } = await s3.send(
      new GetObjectTaggingCommand({ Bucket: "bucket", Key: "photo.jpg" }),
    );
    expect(TagSet).toEqual([{ Key: "version", Value: "new" }]);
  });
});
