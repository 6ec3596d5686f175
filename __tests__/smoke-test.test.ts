/**
 * The smoke test (ops/smoke-test.ts) against the AWS SDK's Lambda and S3 clients mocked in-process
 * (aws-sdk-client-mock) as a deployed pipeline: the function's configuration, the source bucket's
 * notification, and an upload the notification's filter matches "makes" the outputs the test says
 * the function writes (real images, generated here), at the keys the test names. What it expects
 * is computed from that configuration. One test runs scripts/smoke-test.sh itself, its SDK calls
 * answered in the child process (support/sdk-stand-in.ts).
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  DeleteObjectCommand,
  type FilterRule,
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type LambdaFunctionConfiguration,
  NotFound,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import sharp from "sharp";
import {
  type BucketNotification,
  outputProblem,
  progress,
  smokeTest,
  smokeTestPlan,
  triggerFilter,
} from "../ops/smoke-test";
import { PROJECT_ROOT, runScript } from "./support/fake-tools";
import { sdkStandIn } from "./support/sdk-stand-in";

const FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:thumbnailer";
const FIXTURE = join(PROJECT_ROOT, "scripts", "fixtures", "smoke-test.jpg");
const RUN_ID = "abc123-20261207103000-42";

const ENV = {
  SOURCE_BUCKET: "src-b",
  DEST_BUCKET: "dst-b",
  SOURCE_PREFIX: "uploads/",
  DEST_PREFIX: "thumbs/",
};

/** What the fake pipeline is: the function's environment, its trigger, what it writes. */
interface Pipeline {
  readonly env: Record<string, string>;
  /** The notification's filter; undefined: the bucket does not notify the function at all. */
  readonly filter?: { readonly prefix?: string; readonly suffix?: string };
  /** For each upload the filter matches: [destination key prefix, image bytes, Content-Type]. */
  readonly writes: readonly (readonly [string, Buffer, string])[];
  /** Each output is missing on the first look (the function takes a moment). */
  readonly late?: boolean;
}

/** The S3 notification the pipeline's bucket has (S3 answers "Prefix"/"Suffix"). */
function notificationOf(pipeline: Pipeline): BucketNotification {
  if (pipeline.filter === undefined) return {};
  const rules = Object.entries(pipeline.filter).map(
    ([name, value]) =>
      ({ Name: name === "prefix" ? "Prefix" : "Suffix", Value: value }) as unknown as FilterRule,
  );
  return {
    LambdaFunctionConfigurations: [
      {
        Id: "tf-s3-lambda-20261207",
        LambdaFunctionArn: FUNCTION_ARN,
        Events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        ...(rules.length === 0 ? {} : { Filter: { Key: { FilterRules: rules } } }),
      },
    ],
  };
}

const lambda = mockClient(LambdaClient);
const s3 = mockClient(S3Client);
afterEach(() => {
  lambda.reset();
  s3.reset();
});

/** Runs the smoke test against `pipeline`: its progress lines and error, and the S3 objects. */
async function runAgainst(
  pipeline: Pipeline,
  options: { timeoutSeconds?: number; sourceBucket?: string } = {},
) {
  const objects = new Map<string, { body: Buffer; type: string; version: string }>();
  const looked = new Set<string>();
  let versions = 0;
  lambda.on(GetFunctionConfigurationCommand).resolves({
    FunctionName: "thumbnailer",
    FunctionArn: FUNCTION_ARN,
    Environment: { Variables: pipeline.env },
  });
  s3.on(GetBucketNotificationConfigurationCommand).resolves(notificationOf(pipeline));
  s3.on(PutObjectCommand).callsFake((input: { Key: string }) => {
    const { prefix = "", suffix = "" } = pipeline.filter ?? {};
    const triggers =
      pipeline.filter !== undefined && input.Key.startsWith(prefix) && input.Key.endsWith(suffix);
    for (const [dest, body, type] of triggers ? pipeline.writes : []) {
      objects.set(dest + input.Key, { body, type, version: `v-out-${++versions}` });
    }
    return { VersionId: "v-src-1" };
  });
  s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
    const found = objects.get(input.Key);
    const late = pipeline.late === true && !looked.has(input.Key);
    looked.add(input.Key);
    if (found === undefined || late) {
      throw new NotFound({ message: "Not Found", $metadata: { httpStatusCode: 404 } });
    }
    return { ContentType: found.type, VersionId: found.version };
  });
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const found = objects.get(input.Key);
    if (found === undefined) throw new Error(`no object ${input.Key}`);
    const body = { transformToByteArray: async () => new Uint8Array(found.body) };
    return { ContentType: found.type, VersionId: found.version, Body: body };
  });
  s3.on(DeleteObjectCommand).resolves({});
  const lines: string[] = [];
  const slept: number[] = [];
  const result = smokeTest(
    {
      lambda: new LambdaClient({ region: "eu-west-1" }),
      s3: new S3Client({ region: "eu-west-1" }),
      progress: progress((text) => lines.push(text)),
      sleep: async (ms) => slept.push(ms),
    },
    {
      functionName: "thumbnailer",
      sourceBucket: options.sourceBucket,
      fixture: FIXTURE,
      timeoutSeconds: options.timeoutSeconds ?? 120,
      pollSeconds: 3,
      runId: RUN_ID,
    },
  ).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  const error = await result;
  const inputs = <T>(command: new (input: T) => unknown) =>
    s3.commandCalls(command as never).map((call) => call.args[0].input as Record<string, unknown>);
  return { error, text: lines.join(""), slept, inputs };
}

describe("the smoke test (ops/smoke-test.ts on the SDK)", () => {
  const images: Record<string, Buffer> = {};
  beforeAll(async () => {
    const solid = (width: number, height: number) =>
      sharp({ create: { width, height, channels: 3, background: "#3366cc" } });
    images.good = await solid(256, 192).jpeg().toBuffer();
    images.square = await solid(256, 256).jpeg().toBuffer();
    images.list = await solid(200, 150).webp().toBuffer();
    images.social = await solid(120, 120).jpeg().toBuffer();
    images.social4x3 = await solid(160, 120).jpeg().toBuffer();
  });
  const image = (name: string) => images[name] as Buffer;

  it("uploads the fixture where the function listens, waits for its output, checks it, deletes exactly the versions it made", async () => {
    // Arrange
    const pipeline: Pipeline = {
      env: ENV,
      filter: { prefix: "uploads/" },
      writes: [["thumbs/", image("good"), "image/jpeg"]],
      late: true,
    };

    // Act
    const run = await runAgainst(pipeline, { sourceBucket: "src-b" });

    // Assert
    expect(run.error).toBeUndefined();
    const key = `uploads/smoke-test/${RUN_ID}.jpg`;
    expect(lambda.commandCalls(GetFunctionConfigurationCommand)[0]?.args[0].input).toEqual({
      FunctionName: "thumbnailer",
    });
    expect(run.inputs(GetBucketNotificationConfigurationCommand)).toEqual([{ Bucket: "src-b" }]);
    const [put] = run.inputs(PutObjectCommand);
    expect(put).toEqual({
      Bucket: "src-b",
      Key: key,
      Body: readFileSync(FIXTURE),
      ContentType: "image/jpeg",
    });
    const thumb = { Bucket: "dst-b", Key: `thumbs/${key}` };
    // Missing on the first look: one poll interval later, it is there.
    expect(run.inputs(HeadObjectCommand)).toEqual([thumb, thumb]);
    expect(run.slept).toEqual([3000]);
    expect(run.inputs(GetObjectCommand)).toEqual([{ ...thumb, VersionId: "v-out-1" }]);
    // The source bucket is versioned: deleting the upload's own version leaves no delete
    // marker and no noncurrent version behind.
    expect(run.inputs(DeleteObjectCommand)).toEqual([
      { Bucket: "src-b", Key: key, VersionId: "v-src-1" },
      { ...thumb, VersionId: "v-out-1" },
    ]);
    expect(run.text).toContain("default: 256x192 jpeg");
    expect(run.text).toContain("Smoke test passed");
  });

  it("with RENDITIONS, waits for and checks exactly each rendition's key, format and size, and deletes each", async () => {
    // Arrange: the product-page shape: no rendition at DEST_PREFIX itself
    const renditions = [
      { name: "list", width: 200, height: 200, format: "webp" },
      { name: "social", width: 120, height: 120, fit: "cover", prefix: "og/" },
    ];
    const pipeline: Pipeline = {
      env: { ...ENV, RENDITIONS: JSON.stringify(renditions) },
      filter: { prefix: "uploads/" },
      writes: [
        ["thumbs/list/", image("list"), "image/webp"],
        ["thumbs/og/", image("social"), "image/jpeg"],
      ],
    };

    // Act
    const run = await runAgainst(pipeline, { timeoutSeconds: 0 });

    // Assert
    expect(run.error).toBeUndefined();
    const key = `uploads/smoke-test/${RUN_ID}.jpg`;
    const expected = [`thumbs/list/${key}`, `thumbs/og/${key}`];
    const keys = (inputs: Record<string, unknown>[]) => inputs.map((i) => i.Key);
    expect(keys(run.inputs(HeadObjectCommand))).toEqual(expected);
    expect(keys(run.inputs(GetObjectCommand))).toEqual(expected);
    expect(keys(run.inputs(DeleteObjectCommand))).toEqual([key, ...expected]);
    expect(run.text).toContain("list: 200x150 webp");
    expect(run.text).toContain("social: 120x120 jpeg");
  });

  it("with RENDITIONS, fails naming the rendition whose output is not what the configuration makes", async () => {
    const renditions = [
      { name: "list", width: 200, height: 200, format: "webp" },
      { name: "social", width: 120, height: 120, fit: "cover" },
    ];
    const pipeline: Pipeline = {
      env: { ...ENV, RENDITIONS: JSON.stringify(renditions) },
      filter: { prefix: "uploads/" },
      writes: [
        ["thumbs/list/", image("list"), "image/webp"],
        ["thumbs/social/", image("social4x3"), "image/jpeg"],
      ],
    };

    const run = await runAgainst(pipeline, { timeoutSeconds: 0 });

    expect(run.error?.message).toMatch(/social.*is 160x120 jpeg, expected 120x120 jpeg/);
    expect(run.inputs(DeleteObjectCommand).map((i) => [i.Key, i.VersionId])).toEqual([
      [`uploads/smoke-test/${RUN_ID}.jpg`, "v-src-1"],
      [`thumbs/list/uploads/smoke-test/${RUN_ID}.jpg`, "v-out-1"],
      [`thumbs/social/uploads/smoke-test/${RUN_ID}.jpg`, "v-out-2"],
    ]);
  });

  it("uploads a key the notification's suffix matches (.png), though the fixture is a JPEG", async () => {
    const pipeline: Pipeline = {
      env: ENV,
      filter: { prefix: "uploads/", suffix: ".png" },
      writes: [["thumbs/", image("good"), "image/jpeg"]],
    };

    const run = await runAgainst(pipeline, { timeoutSeconds: 0 });

    expect(run.error).toBeUndefined();
    const key = `uploads/smoke-test/${RUN_ID}.png`;
    expect(run.inputs(PutObjectCommand)[0]?.Key).toBe(key);
    expect(run.inputs(HeadObjectCommand)).toEqual([{ Bucket: "dst-b", Key: `thumbs/${key}` }]);
  });

  it("refuses, uploading and deleting nothing, when the source bucket does not notify the function", async () => {
    const run = await runAgainst({ env: ENV, writes: [] });

    expect(run.error?.message).toContain(
      `s3://src-b sends no object-created notification to ${FUNCTION_ARN}`,
    );
    expect(run.inputs(PutObjectCommand)).toEqual([]);
    expect(run.inputs(DeleteObjectCommand)).toEqual([]);
  });

  it("fails on an output of the wrong shape, and still deletes the versions it made", async () => {
    const pipeline: Pipeline = {
      env: ENV,
      filter: { prefix: "uploads/" },
      writes: [["thumbs/", image("square"), "image/jpeg"]],
    };

    const run = await runAgainst(pipeline);

    expect(run.error?.message).toMatch(/default.*is 256x256 jpeg, expected 256x192 jpeg/);
    expect(run.inputs(DeleteObjectCommand).map((i) => [i.Key, i.VersionId])).toEqual([
      [`uploads/smoke-test/${RUN_ID}.jpg`, "v-src-1"],
      [`thumbs/uploads/smoke-test/${RUN_ID}.jpg`, "v-out-1"],
    ]);
  });

  it("fails when no output appears in time, pointing at the logs, and deletes the upload and the output's key", async () => {
    const pipeline: Pipeline = { env: ENV, filter: { prefix: "uploads/" }, writes: [] };

    const run = await runAgainst(pipeline, { timeoutSeconds: 0 });

    expect(run.error?.message).toBe(
      `no default output at s3://dst-b/thumbs/uploads/smoke-test/${RUN_ID}.jpg after 0s; see the function's logs: aws logs tail /aws/lambda/thumbnailer --since 15m`,
    );
    // Never seen: deleted without a version, in case the function writes it after all.
    expect(run.inputs(DeleteObjectCommand)).toEqual([
      { Bucket: "src-b", Key: `uploads/smoke-test/${RUN_ID}.jpg`, VersionId: "v-src-1" },
      { Bucket: "dst-b", Key: `thumbs/uploads/smoke-test/${RUN_ID}.jpg` },
    ]);
  });

  it("refuses GitHub variables that no longer match the function's buckets", async () => {
    const pipeline: Pipeline = { env: ENV, filter: { prefix: "uploads/" }, writes: [] };

    const run = await runAgainst(pipeline, { sourceBucket: "old-b" });

    expect(run.error?.message).toContain("SOURCE_BUCKET is 'old-b' but the function uses 'src-b'");
    expect(run.inputs(PutObjectCommand)).toEqual([]);
  });
});

describe("scripts/smoke-test.sh", () => {
  it("runs the smoke test on the SDK with deploy.yml's command line: exit 1 on no output, the upload deleted by version", () => {
    // Arrange: the deployed function and its trigger; the output never appears
    const sdk = sdkStandIn({
      "Lambda.GetFunctionConfiguration": {
        output: { FunctionArn: FUNCTION_ARN, Environment: { Variables: ENV } },
      },
      "S3.GetBucketNotificationConfiguration": {
        output: notificationOf({ env: ENV, filter: { prefix: "uploads/" }, writes: [] }),
      },
      "S3.PutObject": { output: { VersionId: "v-src-1" } },
      "S3.HeadObject": { error: "NotFound", status: 404 },
      "S3.DeleteObject": { output: {} },
    });
    try {
      // Act
      const run = runScript(
        "smoke-test.sh",
        [
          ...["--function-name", "thumbnailer", "--region", "eu-west-1"],
          ...["--source-bucket", "src-b", "--dest-bucket", "dst-b", "--timeout", "0"],
        ],
        { env: { ...sdk.env, GITHUB_SHA: "abc123", SMOKE_TEST_POLL_SECONDS: "0" } },
      );

      // Assert
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        "after 0s; see the function's logs: aws logs tail /aws/lambda/thumbnailer --since 15m",
      );
      expect(run.calls).toEqual([]); // no AWS CLI
      expect(sdk.commands("smoke-test")).toEqual([
        "Lambda.GetFunctionConfiguration",
        "S3.GetBucketNotificationConfiguration",
        "S3.PutObject",
        "S3.HeadObject",
        "S3.DeleteObject",
        "S3.DeleteObject",
      ]);
      const calls = sdk.calls("smoke-test");
      const key = String(calls[2]?.input.Key);
      expect(key).toMatch(/^uploads\/smoke-test\/abc123-\d{14}-\d+\.jpg$/);
      expect(calls[2]?.input).toMatchObject({ Bucket: "src-b", ContentType: "image/jpeg" });
      expect(calls.slice(4).map((c) => c.input)).toEqual([
        { Bucket: "src-b", Key: key, VersionId: "v-src-1" },
        { Bucket: "dst-b", Key: `thumbs/${key}` },
      ]);
    } finally {
      sdk.cleanup();
    }
  });
});

describe("ops/smoke-test.ts", () => {
  const fixture = join(PROJECT_ROOT, "scripts", "fixtures", "smoke-test.jpg");
  const uploads = (rules: FilterRule[]): LambdaFunctionConfiguration => ({
    LambdaFunctionArn: FUNCTION_ARN,
    Events: ["s3:ObjectCreated:*"],
    Filter: { Key: { FilterRules: rules } },
  });
  // S3 answers "Prefix"/"Suffix" where the SDK's type says "prefix"/"suffix".
  const rule = (Name: string, Value: string) => ({ Name, Value }) as FilterRule;

  it("reads the filter of the notification that sends uploads to this function, not another's", () => {
    const filter = triggerFilter(
      {
        LambdaFunctionConfigurations: [
          {
            ...uploads([rule("Prefix", "other/")]),
            LambdaFunctionArn: `${FUNCTION_ARN}-2`,
          },
          { ...uploads([rule("Prefix", "gone/")]), Events: ["s3:ObjectRemoved:*"] },
          uploads([rule("prefix", "uploads/"), rule("Suffix", ".JPG")]),
        ],
      },
      FUNCTION_ARN,
      "src-b",
    );

    expect(filter).toEqual({ prefix: "uploads/", suffix: ".JPG" });
  });

  it("refuses a trigger prefix that is not the function's SOURCE_PREFIX (a deploy half done)", async () => {
    const plan = smokeTestPlan(
      { FunctionArn: FUNCTION_ARN, Environment: { Variables: ENV } },
      { LambdaFunctionConfigurations: [uploads([rule("Prefix", "photos/")])] },
      fixture,
      "run-1",
    );

    await expect(plan).rejects.toThrow(
      'notifies the function of keys under "photos/" but its SOURCE_PREFIX is "uploads/"',
    );
  });

  it("checks an output's Content-Type, format and size, AVIF included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "thumbnailer-smoke-check-"));
    try {
      const file = join(dir, "out.avif");
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#808080" } })
        .avif()
        .toFile(file);
      const expected = {
        key: "thumbs/a/k.jpg",
        rendition: "a",
        format: "avif",
        width: 64,
        height: 48,
        contentType: "image/avif",
      };

      expect(await outputProblem(file, "image/avif", expected)).toBeUndefined();
      expect(await outputProblem(file, "image/jpeg", expected)).toBe(
        `rendition "a" (thumbs/a/k.jpg) has Content-Type 'image/jpeg', expected image/avif`,
      );
      expect(await outputProblem(file, "image/avif", { ...expected, width: 48 })).toBe(
        `rendition "a" (thumbs/a/k.jpg) is 64x48 avif, expected 48x48 avif`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
