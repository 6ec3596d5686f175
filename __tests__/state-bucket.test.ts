/**
 * ops/state-bucket.ts against the S3 client mocked at the SDK level (aws-sdk-client-mock): the
 * requests that create a state bucket with its guards, reuse one, or refuse one, checked
 * against the SDK's own input types; and the migration plan read from a synthesized cdktf.out.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BucketVersioningStatus,
  CreateBucketCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  NotFound,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import {
  ensureStateBucket,
  planMigration,
  STATE_BUCKET_TAG,
  type StateBucketTarget,
  stateBucketName,
} from "../ops/state-bucket";
import { readInfraConfig } from "../stacks/config";

const ACCOUNT = "123456789012";
const BUCKET = `thumbnailer-tfstate-${ACCOUNT}-eu-west-1`;
const target = (region = "eu-west-1", bucket = BUCKET): StateBucketTarget => ({
  bucket,
  region,
  caller: { account: ACCOUNT, partition: "aws" },
  deployment: `thumbnailer-${region}`,
});

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());
const client = () => new S3Client({ region: "eu-west-1" });
/** The commands sent, by name, in order. */
const sent = () => s3.calls().map((call) => call.args[0].constructor.name.replace(/Command$/, ""));
const absent = () => new NotFound({ message: "Not Found", $metadata: { httpStatusCode: 404 } });
const GUARDS = [
  "PutBucketVersioning",
  "PutBucketEncryption",
  "PutPublicAccessBlock",
  "PutBucketOwnershipControls",
  "PutBucketPolicy",
];

describe("stateBucketName", () => {
  it("derives <name>-tfstate-<account>-<region>, within 63 characters for the longest settings", () => {
    expect(stateBucketName("thumbnailer", ACCOUNT, "eu-west-1")).toBe(BUCKET);
    // The longest name (20) and a long region (14): 56 characters
    expect(stateBucketName("a".repeat(20), ACCOUNT, "ap-southeast-3")).toHaveLength(56);
    expect(() => stateBucketName("a".repeat(30), ACCOUNT, "ap-southeast-3")).toThrow(
      /longer than S3's 63 characters: set stateBucket/,
    );
  });
});

describe("ensureStateBucket", () => {
  it("creates an absent bucket in its region, tagged, with every guard", async () => {
    // Arrange
    s3.on(HeadBucketCommand).rejects(absent());

    // Act
    const outcome = await ensureStateBucket(client(), target());

    // Assert
    expect(outcome).toBe("created");
    expect(sent()).toEqual(["HeadBucket", "CreateBucket", "PutBucketTagging", ...GUARDS]);
    const owned = { Bucket: BUCKET, ExpectedBucketOwner: ACCOUNT };
    expect(s3.commandCalls(HeadBucketCommand)[0]?.args[0].input).toEqual(owned);
    expect(s3.commandCalls(CreateBucketCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      ObjectOwnership: "BucketOwnerEnforced",
      CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
    });
    expect(s3.commandCalls(PutBucketTaggingCommand)[0]?.args[0].input).toEqual({
      ...owned,
      Tagging: { TagSet: [{ Key: STATE_BUCKET_TAG, Value: "thumbnailer-eu-west-1" }] },
    });
    expect(s3.commandCalls(PutBucketVersioningCommand)[0]?.args[0].input).toEqual({
      ...owned,
      VersioningConfiguration: { Status: "Enabled" },
    });
    expect(s3.commandCalls(PutBucketEncryptionCommand)[0]?.args[0].input).toEqual({
      ...owned,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
    });
    expect(s3.commandCalls(PutPublicAccessBlockCommand)[0]?.args[0].input).toEqual({
      ...owned,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
    });
    expect(s3.commandCalls(PutBucketOwnershipControlsCommand)[0]?.args[0].input).toEqual({
      ...owned,
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
    });
    const policy = JSON.parse(
      s3.commandCalls(PutBucketPolicyCommand)[0]?.args[0].input.Policy ?? "{}",
    );
    expect(policy.Statement).toEqual([
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
  });

  it("creates in us-east-1 without a LocationConstraint (S3 refuses one there)", async () => {
    // Arrange
    s3.on(HeadBucketCommand).rejects(absent());

    // Act
    await ensureStateBucket(client(), target("us-east-1", "b-us"));

    // Assert
    expect(s3.commandCalls(CreateBucketCommand)[0]?.args[0].input).toEqual({
      Bucket: "b-us",
      ObjectOwnership: "BucketOwnerEnforced",
    });
  });

  it("reuses a bucket it created (tagged): creates nothing, puts every guard again", async () => {
    // Arrange
    s3.on(HeadBucketCommand).resolves({ BucketRegion: "eu-west-1" });
    s3.on(GetBucketTaggingCommand).resolves({
      TagSet: [{ Key: STATE_BUCKET_TAG, Value: "other-eu-west-1" }],
    });

    // Act
    const outcome = await ensureStateBucket(client(), target());

    // Assert
    expect(outcome).toBe("reused-own");
    expect(sent()).toEqual(["HeadBucket", "GetBucketTagging", ...GUARDS]);
  });

  it("reuses a versioned bucket it did not create, changing nothing on it", async () => {
    // Arrange: no tags at all (S3 answers NoSuchTagSet)
    s3.on(HeadBucketCommand).resolves({ BucketRegion: "eu-west-1" });
    s3.on(GetBucketTaggingCommand).rejects(
      new S3ServiceException({
        name: "NoSuchTagSet",
        $fault: "client",
        $metadata: { httpStatusCode: 404 },
      }),
    );
    s3.on(GetBucketVersioningCommand).resolves({ Status: "Enabled" });
    const lines: string[] = [];

    // Act
    const outcome = await ensureStateBucket(client(), target(), (line) => lines.push(line));

    // Assert
    expect(outcome).toBe("reused");
    expect(sent()).toEqual(["HeadBucket", "GetBucketTagging", "GetBucketVersioning"]);
    expect(lines.join("\n")).toContain("its other settings are yours to keep");
  });

  it.each<[BucketVersioningStatus | undefined]>([["Suspended"], [undefined]])(
    "refuses a bucket it did not create whose versioning is %s, changing nothing",
    async (status) => {
      // Arrange
      s3.on(HeadBucketCommand).resolves({ BucketRegion: "eu-west-1" });
      s3.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: "team", Value: "infra" }] });
      s3.on(GetBucketVersioningCommand).resolves(status ? { Status: status } : {});

      // Act + Assert
      await expect(ensureStateBucket(client(), target())).rejects.toThrow(
        `bucket ${BUCKET} is not versioned (${status ?? "never enabled"})`,
      );
      expect(sent().filter((c) => /^(Put|Create)/.test(c))).toEqual([]);
    },
  );

  it("refuses a name another account owns (403), creating nothing", async () => {
    // Arrange
    s3.on(HeadBucketCommand).rejects(
      new S3ServiceException({
        name: "403",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
      }),
    );

    // Act + Assert
    await expect(ensureStateBucket(client(), target())).rejects.toThrow(
      `state bucket ${BUCKET} exists but not in account ${ACCOUNT} (403)`,
    );
    expect(sent()).toEqual(["HeadBucket"]);
  });

  it("refuses a bucket of this account in another region than stateRegion", async () => {
    // Arrange
    s3.on(HeadBucketCommand).resolves({ BucketRegion: "us-west-2" });

    // Act + Assert
    await expect(ensureStateBucket(client(), target())).rejects.toThrow(
      "is in us-west-2, not eu-west-1: set stateRegion (THUMBNAILER_STATE_REGION) to us-west-2",
    );
    expect(sent()).toEqual(["HeadBucket"]);
  });
});

describe("planMigration", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "state-migration-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A cdktf.out whose stacks keep state in local files under `dir`, `contents` by stack. */
  function synthesized(contents: Record<string, string>): string {
    const outdir = join(dir, "cdktf.out");
    for (const stack of ["dependencies", "lambda"]) {
      const path = join(dir, `terraform.thumbnailer-eu-west-1-${stack}.tfstate`);
      mkdirSync(join(outdir, "stacks", stack), { recursive: true });
      writeFileSync(
        join(outdir, "stacks", stack, "cdk.tf.json"),
        JSON.stringify({ terraform: { backend: { local: { path } } } }),
      );
      const content = contents[stack];
      if (content !== undefined) writeFileSync(path, content);
    }
    return outdir;
  }
  const config = readInfraConfig({
    context: () => undefined,
    env: { THUMBNAILER_REGION: "eu-west-1" },
  });

  it("moves each non-empty local state to <name>/<region>/<stack>.tfstate when the keys are free", async () => {
    // Arrange: lambda's file is empty (never applied)
    const outdir = synthesized({ dependencies: '{"serial": 3}', lambda: "" });
    s3.on(HeadObjectCommand).rejects(absent());

    // Act
    const moves = await planMigration(client(), config, outdir, dir, BUCKET);

    // Assert
    expect(moves).toEqual([
      {
        stack: "dependencies",
        path: join(dir, "terraform.thumbnailer-eu-west-1-dependencies.tfstate"),
        key: "thumbnailer/eu-west-1/dependencies.tfstate",
      },
    ]);
    expect(s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: "thumbnailer/eu-west-1/dependencies.tfstate" },
    ]);
  });

  it("refuses when the bucket already holds a state at one of the keys", async () => {
    // Arrange
    const outdir = synthesized({ dependencies: "{}", lambda: "{}" });
    s3.on(HeadObjectCommand).rejects(absent());
    s3.on(HeadObjectCommand, { Key: "thumbnailer/eu-west-1/lambda.tfstate" }).resolves({});

    // Act + Assert
    await expect(planMigration(client(), config, outdir, dir, BUCKET)).rejects.toThrow(
      `the state bucket already holds s3://${BUCKET}/thumbnailer/eu-west-1/lambda.tfstate: migrating would overwrite it`,
    );
  });
});
