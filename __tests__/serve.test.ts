/**
 * The local service, integration: a real s3rver on a free port, real HTTP uploads through
 * @aws-sdk/client-s3 (the AWS CLI v2: serve-aws-cli.system.test.ts), the real handler and engine.
 */

import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { colourDistance, cornerColour, pixelsOf, RED } from "./support/images";
import { badInputs, goodImages, imageInfo } from "./support/local-fixtures";
import { exists, get, put, waitFor } from "./support/local-s3";
import { startTestService, type TestService } from "./support/local-service";

/** Someone else's AWS credentials, as a developer's shell may hold them. */
const CALLERS_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "AKIACALLERSOWNKEY",
  AWS_SECRET_ACCESS_KEY: "callers-own-secret",
  AWS_SESSION_TOKEN: "callers-own-token",
};

describe("local service (integration: real s3rver, real HTTP)", () => {
  let local: TestService;
  const saved = Object.keys(CALLERS_CREDENTIALS).map((name) => [name, process.env[name]] as const);

  beforeAll(async () => {
    Object.assign(process.env, CALLERS_CREDENTIALS);
    local = await startTestService();
  });

  afterAll(async () => {
    await local.close();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const thumbnailOf = (key: string) =>
    waitFor(`thumbnail of ${key}`, () => get(local.s3, "thumbnails", key));

  it("thumbnails single PUTs with the right size, orientation and content type", async () => {
    const images = await goodImages();

    const etags = await Promise.all(
      images.map((image) => put(local.s3, "source", `put/${image.name}`, image.data)),
    );

    for (const [index, image] of images.entries()) {
      const thumbnail = await thumbnailOf(`put/${image.name}`);
      expect(thumbnail.contentType).toBe("image/jpeg");
      expect(await imageInfo(thumbnail.data)).toEqual({
        width: image.width,
        height: image.height,
        format: "jpeg",
      });
      expect(thumbnail.metadata["source-etag"]).toBe(etags[index]);
    }
    // The red marker stored top-left of the EXIF-rotated (orientation 6) photo shows top-right.
    const rotated = await thumbnailOf("put/rotated.jpg");
    const pixels = await pixelsOf(Buffer.from(rotated.data));
    expect(colourDistance(cornerColour(pixels, "top-right"), RED)).toBeLessThan(60);
  });

  it("signs with s3rver's credentials whatever the environment holds, and leaves the environment alone", async () => {
    const [image] = await goodImages();

    await put(local.s3, "source", "credentials/photo.jpg", image?.data ?? Buffer.alloc(0));

    await thumbnailOf("credentials/photo.jpg");
    expect(
      Object.fromEntries(Object.keys(CALLERS_CREDENTIALS).map((n) => [n, process.env[n]])),
    ).toEqual(CALLERS_CREDENTIALS);
  });

  it("thumbnails a multipart upload (ObjectCreated:CompleteMultipartUpload)", async () => {
    const [image] = await goodImages();
    const data = image?.data ?? Buffer.alloc(0);
    const key = "multipart/big photo.jpg";
    const { UploadId } = await local.s3.send(
      new CreateMultipartUploadCommand({ Bucket: "source", Key: key, ContentType: "image/jpeg" }),
    );
    const half = Math.ceil(data.length / 2);
    const parts = [];
    for (const [index, chunk] of [data.subarray(0, half), data.subarray(half)].entries()) {
      const { ETag } = await local.s3.send(
        new UploadPartCommand({
          Bucket: "source",
          Key: key,
          UploadId,
          PartNumber: index + 1,
          Body: chunk,
        }),
      );
      parts.push({ ETag, PartNumber: index + 1 });
    }

    await local.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "source",
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );

    const thumbnail = await thumbnailOf(key);
    expect(await imageInfo(thumbnail.data)).toMatchObject({
      width: image?.width,
      height: image?.height,
    });
    expect(local.logs).toContainEqual(
      expect.objectContaining({
        key,
        event: "ObjectCreated:CompleteMultipartUpload",
        outcome: "created",
      }),
    );
  });

  it("keeps keys with spaces, +, %, unicode and nested prefixes intact", async () => {
    const [image] = await goodImages();
    const keys = [
      "with space.jpg",
      "plus+sign.jpg",
      "percent%20and%.jpg",
      "ünïcødé/日本 語.jpg",
      "a/b/c/d/deep.jpg",
    ];

    await Promise.all(
      keys.map((key) => put(local.s3, "source", key, image?.data ?? Buffer.alloc(0))),
    );

    for (const key of keys) {
      const thumbnail = await thumbnailOf(key);
      expect(decodeURIComponent(thumbnail.metadata["source-key"] ?? "")).toBe(key);
    }
  });

  it("deletes the thumbnail when its source is deleted", async () => {
    const [image] = await goodImages();
    await put(local.s3, "source", "doomed.jpg", image?.data ?? Buffer.alloc(0));
    await thumbnailOf("doomed.jpg");

    await local.s3.send(new DeleteObjectCommand({ Bucket: "source", Key: "doomed.jpg" }));

    await waitFor("thumbnail deleted", async () =>
      (await exists(local.s3, "thumbnails", "doomed.jpg")) ? undefined : true,
    );
  });

  it("records bad uploads (tag + failure record) and keeps serving", async () => {
    const bad = await badInputs();

    await Promise.all(bad.map((input) => put(local.s3, "source", `bad/${input.name}`, input.data)));

    const records = await waitFor("a failure record per bad upload", async () => {
      const found = (await local.failures()).filter((entry) =>
        String(entry.key).startsWith("bad/"),
      );
      return found.length >= bad.length ? found : undefined;
    });
    for (const input of bad) {
      const key = `bad/${input.name}`;
      expect(records).toContainEqual(
        expect.objectContaining({ kind: "bad-input", bucket: "source", key, code: input.code }),
      );
      const { TagSet } = await local.s3.send(
        new GetObjectTaggingCommand({ Bucket: "source", Key: key }),
      );
      expect(TagSet).toContainEqual({ Key: "thumbnailer-error", Value: input.code });
      expect(await exists(local.s3, "thumbnails", key)).toBe(false);
    }
    // Still serving.
    const [image] = await goodImages();
    await put(local.s3, "source", "after-bad.jpg", image?.data ?? Buffer.alloc(0));
    await thumbnailOf("after-bad.jpg");
  });
});

describe("local service with SOURCE_PREFIX (integration: real s3rver, real HTTP)", () => {
  let local: TestService;

  beforeAll(async () => {
    local = await startTestService({ handlerEnv: { SOURCE_PREFIX: "new photos/" } });
  });

  afterAll(async () => {
    await local.close();
  });

  it("delivers only events under the prefix, matched against the decoded key as the handler does", async () => {
    const [image] = await goodImages();
    const data = image?.data ?? Buffer.alloc(0);

    await put(local.s3, "source", "old photos/outside.jpg", data);
    await put(local.s3, "source", "new photos/inside.jpg", data);

    await waitFor("thumbnail of the upload under the prefix", () =>
      get(local.s3, "thumbnails", "new photos/inside.jpg"),
    );
    await local.service.idle();
    expect(local.service.stats.received).toBe(1);
    expect(local.logs.filter((line) => line.key === "old photos/outside.jpg")).toEqual([]);
    expect(await exists(local.s3, "thumbnails", "old photos/outside.jpg")).toBe(false);
  });
});
