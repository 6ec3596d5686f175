/**
 * ops/terraform-state.ts: a stack's deployed state read where the backend keeps it, a local file
 * or an S3 object (S3 mocked at the SDK level with aws-sdk-client-mock); ops/empty-buckets.ts:
 * whether destroy.sh may delete a bucket, from one ListObjectVersions page.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  NoSuchBucket,
  NoSuchKey,
  S3Client,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { heldBuckets } from "../ops/empty-buckets";
import {
  deployedStateLocation,
  readState,
  StateReadError,
  stateInstances,
} from "../ops/terraform-state";
import { serviceError } from "./support/fake-s3";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const s3 = mockClient(S3Client);
const client = () => new S3Client({ region: "eu-west-1", credentials });
beforeEach(() => s3.reset());
afterAll(() => s3.restore());

/** An S3 GetObject body, as the SDK returns it. */
const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as NonNullable<
    Awaited<ReturnType<S3Client["send"]>>
  >;

describe("readState", () => {
  const S3_STATE = {
    kind: "s3",
    bucket: "acme-state",
    key: "t/eu-west-1/dependencies.tfstate",
    region: "eu-central-1",
  } as const;

  it("reads the S3 object the backend writes, and nothing when there is none yet", async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: body('{"version":4}') } as never)
      .rejectsOnce(new NoSuchKey({ message: "gone", $metadata: {} }));

    expect(await readState(S3_STATE, client())).toBe('{"version":4}');
    expect(await readState(S3_STATE, client())).toBe("");
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: "acme-state", Key: "t/eu-west-1/dependencies.tfstate" },
      { Bucket: "acme-state", Key: "t/eu-west-1/dependencies.tfstate" },
    ]);
  });

  it("fails, naming the object, when the state cannot be read", async () => {
    s3.on(GetObjectCommand).rejects(serviceError("AccessDenied", 403, "no"));

    const read = readState(S3_STATE, client());

    await expect(read).rejects.toThrow(StateReadError);
    await expect(read).rejects.toThrow(
      "cannot read the Terraform state s3://acme-state/t/eu-west-1/dependencies.tfstate: AccessDenied: no",
    );
  });

  it("reads a local state file, and nothing when it does not exist", async () => {
    const dir = mkdtempSync(join(tmpdir(), "state-"));
    try {
      writeFileSync(
        join(dir, "cdktf.json"),
        JSON.stringify({ context: { name: "one", region: "eu-west-1" } }),
      );
      const location = deployedStateLocation(dir, {}, "dependencies");
      expect(location).toEqual({
        kind: "local",
        path: join(dir, "terraform.one-eu-west-1-dependencies.tfstate"),
      });
      expect(await readState(location)).toBe("");
      writeFileSync(join(dir, "terraform.one-eu-west-1-dependencies.tfstate"), "{}");
      expect(await readState(location)).toBe("{}");
      // THUMBNAILER_* variables pick another deployment, as a synth would
      expect(deployedStateLocation(dir, { THUMBNAILER_NAME: "two" }, "lambda")).toEqual({
        kind: "local",
        path: join(dir, "terraform.two-eu-west-1-lambda.tfstate"),
      });
      expect(s3.calls()).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("stateInstances", () => {
  it("lists managed instances of one type, not data sources", () => {
    const state = JSON.stringify({
      resources: [
        { mode: "data", type: "aws_s3_bucket", instances: [{ attributes: { bucket: "read" } }] },
        {
          mode: "managed",
          type: "aws_s3_bucket",
          instances: [{ attributes: { bucket: "a" } }, { attributes: { bucket: "b" } }],
        },
        { mode: "managed", type: "aws_sqs_queue", instances: [{ attributes: { name: "q" } }] },
      ],
    });

    expect(stateInstances(state, "aws_s3_bucket")).toEqual([{ bucket: "a" }, { bucket: "b" }]);
    expect(stateInstances("", "aws_s3_bucket")).toEqual([]);
  });
});

describe("heldBuckets", () => {
  it("lists one page of each bucket: versions and delete markers both hold it, a missing bucket does not", async () => {
    s3.on(ListObjectVersionsCommand, { Bucket: "empty" }).resolves({ IsTruncated: false });
    s3.on(ListObjectVersionsCommand, { Bucket: "markers" }).resolves({
      IsTruncated: false,
      DeleteMarkers: [{ Key: "a", VersionId: "1" }],
    });
    s3.on(ListObjectVersionsCommand, { Bucket: "full" }).resolves({
      IsTruncated: true,
      Versions: Array.from({ length: 1000 }, (_, i) => ({ Key: `k${i}`, VersionId: "1" })),
    });
    s3.on(ListObjectVersionsCommand, { Bucket: "gone" }).rejects(
      new NoSuchBucket({ message: "gone", $metadata: {} }),
    );
    const said: string[] = [];

    const held = await heldBuckets(client(), ["empty", "markers", "full", "gone"], (l) =>
      said.push(l),
    );

    expect(held).toEqual([
      "s3://markers holds 0 object versions and 1 delete markers",
      "s3://full holds more than 1000 object versions and 0 delete markers",
    ]);
    expect(said).toEqual(["s3://empty is empty", "s3://gone does not exist (already deleted)"]);
    expect(s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input)).toEqual(
      ["empty", "markers", "full", "gone"].map((Bucket) => ({ Bucket, MaxKeys: 1000 })),
    );
  });

  it("fails, naming the bucket, when it cannot be listed", async () => {
    s3.on(ListObjectVersionsCommand).rejects(serviceError("AccessDenied", 403, "no"));

    await expect(heldBuckets(client(), ["b"], () => {})).rejects.toThrow(
      "cannot tell whether s3://b is empty: AccessDenied: no",
    );
  });
});
