/**
 * An in-memory S3 behind the real S3Client, faked at the SDK level with aws-sdk-client-mock:
 * the handler's commands run against a map of objects with S3's semantics for the calls it
 * makes (If-Match -> 412, missing key -> 404, quoted ETags, tags, user metadata). Every call is
 * recorded, and the number of calls in flight is tracked to check concurrency bounds.
 */

import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3ServiceException,
  type Tag,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { createS3Client } from "../../handler/s3-client";

export interface StoredObject {
  body: Buffer;
  /** Without quotes. */
  eTag: string;
  contentType?: string;
  cacheControl?: string;
  metadata: Record<string, string>;
  tags: Tag[];
}

const $metadata = (httpStatusCode: number) => ({ httpStatusCode });

export function serviceError(
  name: string,
  httpStatusCode: number,
  message = `${name} (fake)`,
): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? "server" : "client",
    $metadata: $metadata(httpStatusCode),
    message,
  });
}

export const slowDown = (): S3ServiceException => serviceError("SlowDown", 503);

export function networkError(): Error {
  return Object.assign(new Error("socket hang up"), { name: "Error", code: "ECONNRESET" });
}

const notFound = () => new NotFound({ message: "Not Found", $metadata: $metadata(404) });

export class FakeS3 {
  readonly client = createS3Client({ region: "eu-west-1", endpoint: undefined });
  readonly mock = mockClient(this.client);
  readonly objects = new Map<string, StoredObject>();
  /** Commands to fail: name -> key -> error thrown (every time) for that key. */
  private readonly failures = new Map<string, Map<string, unknown>>();
  inFlight = 0;
  maxInFlight = 0;
  private readonly bodies: Readable[] = [];
  /** Behave like s3rver, which ignores If-Match on GetObject. */
  ignoreIfMatch = false;
  /** Added to every call, to let calls overlap in concurrency tests. */
  latencyMs = 0;

  constructor() {
    const m = this.mock;
    m.on(GetObjectCommand).callsFake((input) =>
      this.call("GetObject", input.Key, () => {
        const object = this.require(
          input.Bucket,
          input.Key,
          () => new NoSuchKey({ message: "NoSuchKey", $metadata: $metadata(404) }),
        );
        const ifMatch = this.ignoreIfMatch ? undefined : input.IfMatch;
        if (ifMatch !== undefined && ifMatch.replace(/"/g, "") !== object.eTag) {
          throw serviceError("PreconditionFailed", 412);
        }
        // A stream like the SDK's (IncomingMessage + transformToByteArray), so a test can tell
        // whether the handler read or closed every body it was given.
        const bytes = new Uint8Array(object.body);
        const body = Object.assign(Readable.from([bytes]), {
          transformToByteArray: async () => {
            body.destroy();
            const failure = this.failures.get("GetObjectBody")?.get(input.Key ?? "");
            if (failure !== undefined) throw failure;
            return bytes;
          },
        });
        this.bodies.push(body);
        return {
          ETag: `"${object.eTag}"`,
          ContentLength: bytes.length,
          ContentType: object.contentType,
          Body: body as unknown as GetObjectCommandOutput["Body"],
        };
      }),
    );
    m.on(HeadObjectCommand).callsFake((input) =>
      this.call("HeadObject", input.Key, () => {
        const object = this.require(input.Bucket, input.Key, notFound);
        return {
          ETag: `"${object.eTag}"`,
          ContentLength: object.body.length,
          ContentType: object.contentType,
          Metadata: { ...object.metadata },
        };
      }),
    );
    m.on(PutObjectCommand).callsFake((input) =>
      this.call("PutObject", input.Key, () => {
        const body = Buffer.from(input.Body as Uint8Array);
        this.put(input.Bucket, input.Key, body, {
          contentType: input.ContentType,
          cacheControl: input.CacheControl,
          metadata: input.Metadata ?? {},
        });
        return { ETag: `"${md5(body)}"` };
      }),
    );
    m.on(DeleteObjectCommand).callsFake((input) =>
      this.call("DeleteObject", input.Key, () => {
        this.objects.delete(`${input.Bucket}/${input.Key}`);
        return {};
      }),
    );
    m.on(GetObjectTaggingCommand).callsFake((input) =>
      this.call("GetObjectTagging", input.Key, () => ({
        TagSet: this.require(input.Bucket, input.Key, () =>
          serviceError("NoSuchKey", 404),
        ).tags.map((tag) => ({ ...tag })),
      })),
    );
    m.on(PutObjectTaggingCommand).callsFake((input) =>
      this.call("PutObjectTagging", input.Key, () => {
        const object = this.require(input.Bucket, input.Key, () => serviceError("NoSuchKey", 404));
        const tags = input.Tagging?.TagSet ?? [];
        if (tags.length > 10) throw serviceError("BadRequest", 400);
        object.tags = tags.map((tag: Tag) => ({ ...tag }));
        return {};
      }),
    );
  }

  /** Stores an object as an upload would; returns its ETag (without quotes). */
  put(
    bucket: string | undefined,
    key: string | undefined,
    body: Buffer,
    extra: Partial<Omit<StoredObject, "body" | "eTag">> = {},
  ): string {
    const eTag = md5(body);
    this.objects.set(`${bucket}/${key}`, { body, eTag, metadata: {}, tags: [], ...extra });
    return eTag;
  }

  get(bucket: string, key: string): StoredObject | undefined {
    return this.objects.get(`${bucket}/${key}`);
  }

  /** Keys stored in a bucket, sorted. */
  keys(bucket: string): string[] {
    return [...this.objects.keys()]
      .filter((id) => id.startsWith(`${bucket}/`))
      .map((id) => id.slice(bucket.length + 1))
      .sort();
  }

  /** Makes every `command` call for `key` throw `error` ("GetObjectBody": reading the body). */
  fail(command: string, key: string, error: unknown): void {
    const byKey = this.failures.get(command) ?? new Map<string, unknown>();
    byKey.set(key, error);
    this.failures.set(command, byKey);
  }

  /** Names of the commands sent, in order, e.g. ["GetObject", "PutObject"]. */
  commands(): string[] {
    return this.mock
      .calls()
      .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ""));
  }

  /** GetObject bodies neither read nor closed: each would hold a connection on real S3. */
  openBodies(): number {
    return this.bodies.filter((body) => !body.destroyed).length;
  }

  /** Un-mocks and destroys the client (a live client keeps the test worker from exiting promptly). */
  restore(): void {
    this.mock.restore();
    this.client.destroy();
  }

  private async call<T>(command: string, key: string | undefined, run: () => T): Promise<T> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      const failure = this.failures.get(command)?.get(key ?? "");
      if (failure !== undefined) throw failure;
      return run();
    } finally {
      this.inFlight -= 1;
    }
  }

  private require(
    bucket: string | undefined,
    key: string | undefined,
    missing: () => Error,
  ): StoredObject {
    const object = this.objects.get(`${bucket}/${key}`);
    if (object === undefined) throw missing();
    return object;
  }
}

function md5(body: Buffer): string {
  return createHash("md5").update(body).digest("hex");
}
