/**
 * The local service's crash-safe s3rver store (integration: real s3rver on a free port): an
 * object being written is invisible until complete, and damaged side files are repaired.
 */

import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { repairStore } from "../local/serve/repair-store";
import { type S3Server, startS3Server } from "../local/serve/s3-server";
import { get, localClient, put } from "./support/local-s3";

describe("crash-safe s3rver store (integration)", () => {
  let dir: string;
  let server: S3Server;
  let s3: S3Client;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "thumbnailer-store-"));
    server = await startS3Server({
      host: "127.0.0.1",
      port: 0,
      storeDir: path.join(dir, "s3"),
      tmpDir: path.join(dir, "tmp"),
      buckets: ["bucket"],
      onEvent: () => undefined,
    });
    s3 = localClient(server.endpoint);
  });

  afterEach(async () => {
    s3.destroy();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

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
    const tmpDuring = await readdir(path.join(dir, "tmp"));
    release();
    await writing;

    expect(Buffer.from(during?.data ?? []).toString()).toBe("old version");
    expect(tmpDuring).toHaveLength(1); // the new bytes were going to a temporary file
    expect((await get(s3, "bucket", "photo.jpg"))?.data.length).toBe(half.length * 2);
    expect(await readdir(path.join(dir, "tmp"))).toEqual([]);
  });

  it("repairs the empty metadata file a killed s3rver leaves, so the bucket lists again", async () => {
    await put(s3, "bucket", "a/one.jpg", Buffer.from("1"));
    await put(s3, "bucket", "two.jpg", Buffer.from("2"));
    await writeFile(path.join(dir, "s3", "bucket", "a", "one.jpg._S3rver_metadata.json"), "");
    await expect(s3.send(new ListObjectsV2Command({ Bucket: "bucket" }))).rejects.toThrow();

    const removed = await repairStore(path.join(dir, "s3"));

    expect(removed).toEqual([path.join(dir, "s3", "bucket", "a", "one.jpg._S3rver_metadata.json")]);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "bucket" }));
    expect(listed.Contents?.map((object) => object.Key).sort()).toEqual(["a/one.jpg", "two.jpg"]);
  });
});
