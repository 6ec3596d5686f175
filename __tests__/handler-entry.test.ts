/**
 * handler/index.ts as Lambda loads it: configuration and client at module scope from
 * process.env, a ConfigError at load time for a bad configuration. Each test loads the module
 * in its own registry (jest.isolateModules), so the SDK is mocked on that registry's S3Client.
 */

import type { S3Event } from "aws-lambda";
import sharp from "sharp";
import { batchEventV2 } from "./support/batch-events";
import { describeImage, jpeg } from "./support/handler-images";
import { s3Event } from "./support/s3-events";

type Sdk = typeof import("@aws-sdk/client-s3");
type Mock = typeof import("aws-sdk-client-mock");
type Entry = typeof import("../handler/index");
type Errors = typeof import("../handler/errors");

/**
 * Loads the entry module with `env` as process.env in a fresh module registry, with that
 * registry's S3Client mocked. `entry` is the module, or the error loading it threw.
 */
function load(env: NodeJS.ProcessEnv) {
  const saved = process.env;
  let loaded:
    | { entry: Entry | unknown; sdk: Sdk; mock: ReturnType<Mock["mockClient"]>; errors: Errors }
    | undefined;
  jest.isolateModules(() => {
    // One copy of sharp's native binding per process: the fresh registry reuses this file's.
    jest.doMock("sharp", () => sharp);
    const sdk: Sdk = require("@aws-sdk/client-s3");
    const { mockClient }: Mock = require("aws-sdk-client-mock");
    const errors: Errors = require("../handler/errors");
    const mock = mockClient(sdk.S3Client);
    let entry: Entry | unknown;
    process.env = env;
    try {
      entry = require("../handler/index");
    } catch (error) {
      entry = error;
    } finally {
      process.env = saved;
    }
    loaded = { entry, sdk, mock, errors };
  });
  if (loaded === undefined) throw new Error("isolateModules did not run");
  return loaded;
}

describe("handler (Lambda entry point)", () => {
  let write: jest.SpyInstance;

  beforeEach(() => {
    write = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
  });

  afterEach(() => write.mockRestore());

  it("refuses to start with a bad configuration, naming the variable", () => {
    const { entry, mock, errors } = load({ DEST_BUCKET: "thumbs", CONCURRENCY: "lots" });

    expect(entry).toBeInstanceOf(errors.ConfigError);
    expect((entry as Error).message).toMatch(/^CONCURRENCY="lots" is invalid/);
    mock.restore();
  });

  it("refuses to start with a configuration that would loop", () => {
    const { entry, mock, errors } = load({ SOURCE_BUCKET: "media", DEST_BUCKET: "media" });

    expect(entry).toBeInstanceOf(errors.ConfigError);
    expect((entry as Error).message).toMatch(/would trigger the function again/);
    mock.restore();
  });

  it("processes an S3 event with the module-scope client and logs one JSON line per record", async () => {
    const { entry, sdk, mock } = load({
      SOURCE_BUCKET: "photos",
      DEST_BUCKET: "thumbs",
      DEST_PREFIX: "t/",
    });
    const image = await jpeg(400, 200);
    mock.on(sdk.GetObjectCommand).resolves({
      ETag: '"e1"',
      ContentLength: image.length,
      Body: { transformToByteArray: async () => new Uint8Array(image) },
    } as unknown as import("@aws-sdk/client-s3").GetObjectCommandOutput);
    mock.on(sdk.PutObjectCommand).resolves({});
    const event: S3Event = s3Event({
      eventName: "ObjectCreated:Put",
      bucket: "photos",
      key: "a b.jpg",
      size: image.length,
      eTag: "e1",
    });
    const { handler } = entry as Entry;

    const results = await handler(event);

    expect(results).toMatchObject([{ outcome: "created", key: "a b.jpg" }]);
    const put = mock.commandCalls(sdk.PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: "thumbs", Key: "t/a b.jpg", ContentType: "image/jpeg" });
    expect(await describeImage(put?.Body as Buffer)).toMatchObject({ width: 256, height: 128 });
    expect(mock.commandCalls(sdk.GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: "photos",
      Key: "a b.jpg",
      IfMatch: '"e1"',
    });
    const lines = write.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toMatchObject([
      { level: "info", bucket: "photos", key: "a b.jpg", outcome: "created" },
    ]);
    mock.restore();
  });

  it("answers an S3 Batch Operations event in Batch's result format", async () => {
    const { entry, sdk, mock } = load({ SOURCE_BUCKET: "photos", DEST_BUCKET: "thumbs" });
    mock.on(sdk.HeadObjectCommand).rejects(
      Object.assign(new Error("Not Found"), {
        name: "NotFound",
        $metadata: { httpStatusCode: 404 },
      }),
    );
    const { handler } = entry as Entry;

    const result = await handler(
      batchEventV2({ mode: "missing" }, { bucket: "photos", key: "a b.jpg" }),
    );

    expect(result).toEqual({
      invocationSchemaVersion: "2.0",
      treatMissingKeysAs: "PermanentFailure",
      invocationId: expect.any(String),
      results: [
        {
          taskId: "task-0",
          resultCode: "PermanentFailure",
          resultString: "failed SOURCE_NOT_FOUND: the source object does not exist",
        },
      ],
    });
    expect(mock.commandCalls(sdk.HeadObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: "photos",
      Key: "a b.jpg",
    });
    mock.restore();
  });
});
