/**
 * The smoke test of a deployed pipeline (scripts/smoke-test.sh is its command line): reads the
 * function's configuration (Lambda GetFunctionConfiguration) and its source bucket's notification
 * (S3 GetBucketNotificationConfiguration), decides from what is deployed, never from the
 * checkout's settings, what to upload and what to expect, uploads the fixture (PutObject), waits
 * for each output (HeadObject, polled until the timeout), checks its Content-Type, format and
 * size with sharp (GetObject), and deletes what it made whatever happened (DeleteObject, by
 * VersionId where the bucket gave one).
 *
 *   node dist/ops/smoke-test.js --function-name NAME [...]   the smoke test (see USAGE)
 *   node dist/ops/smoke-test.js function-settings NAME REGION
 *       prints "ARCHITECTURE<TAB>SOURCE_PREFIX" of the deployed function (scripts/bootstrap.sh)
 *
 * Exit status 0 when it passed, 1 with the reason on stderr when it did not or the command line
 * is wrong. Progress goes to stderr in the scripts' format (scripts/lib/common.sh).
 */
import { readFileSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type LambdaFunctionConfiguration,
  type NotificationConfiguration,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import sharp, { type Metadata } from "sharp";
import { type HandlerConfig, readConfig } from "../handler/config";
import { configureSharp, makeRenditions } from "../handler/engine";
import { destinationKey } from "../handler/keys";
import { SMOKE_TEST_FOLDER } from "../stacks/deploy-role";
import { clientConfig, describeError, isAbsent } from "./aws";
import { runTool } from "./run-tool";

/** The fields of Lambda GetFunctionConfiguration read here. */
export interface DeployedFunction {
  readonly FunctionArn?: string;
  readonly Architectures?: readonly string[];
  readonly Environment?: { readonly Variables?: Readonly<Record<string, string>> };
}

/** The fields of S3 GetBucketNotificationConfiguration read here. */
export type BucketNotification = Pick<NotificationConfiguration, "LambdaFunctionConfigurations">;

/** Which keys the source bucket notifies the function of, on upload. */
export interface TriggerFilter {
  readonly prefix: string;
  readonly suffix: string;
}

/** One output the function makes of the upload. */
export interface Expected {
  readonly key: string;
  readonly rendition: string;
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly contentType: string;
}

export interface SmokeTestPlan {
  readonly upload: { readonly key: string; readonly contentType: string };
  readonly expected: readonly Expected[];
}

/** The deployment cannot pass the smoke test, for the reason given. */
export class SmokeTestError extends Error {
  override readonly name = "SmokeTestError";
}

/** The function's buckets; a bucket given (non-empty) must be the function's. */
export function functionBuckets(
  fn: DeployedFunction,
  given: { readonly source?: string; readonly dest?: string } = {},
): { source: string; dest: string } {
  const env = fn.Environment?.Variables ?? {};
  const pairs = [
    ["SOURCE_BUCKET", given.source, env.SOURCE_BUCKET],
    ["DEST_BUCKET", given.dest, env.DEST_BUCKET],
  ] as const;
  for (const [name, wanted, actual] of pairs) {
    if (actual === undefined || actual === "") {
      throw new SmokeTestError(`the function has no ${name} in its environment: redeploy`);
    }
    if (wanted !== undefined && wanted !== "" && wanted !== actual) {
      throw new SmokeTestError(
        `${name} is '${wanted}' but the function uses '${actual}': update the GitHub variable (scripts/bootstrap.sh)`,
      );
    }
  }
  return { source: env.SOURCE_BUCKET ?? "", dest: env.DEST_BUCKET ?? "" };
}

/** The filter of the bucket's notification that sends uploads (PutObject) to `functionArn`. */
export function triggerFilter(
  notification: BucketNotification,
  functionArn: string,
  bucket: string,
): TriggerFilter {
  const uploads = (config: LambdaFunctionConfiguration) =>
    (config.LambdaFunctionArn === functionArn ||
      config.LambdaFunctionArn?.startsWith(`${functionArn}:`) === true) &&
    (config.Events ?? []).some((e) => e === "s3:ObjectCreated:*" || e === "s3:ObjectCreated:Put");
  const found = (notification.LambdaFunctionConfigurations ?? []).find(uploads);
  if (found === undefined) {
    throw new SmokeTestError(
      `s3://${bucket} sends no object-created notification to ${functionArn}: no upload would ` +
        "trigger it; redeploy (npm run deploy)",
    );
  }
  const rule = (name: string) =>
    found.Filter?.Key?.FilterRules?.find((r) => r.Name?.toLowerCase() === name)?.Value ?? "";
  return { prefix: rule("prefix"), suffix: rule("suffix") };
}

/**
 * The upload (under SOURCE_PREFIX + the smoke test's folder, ending with the trigger's suffix, or
 * else with the fixture's own extension) and every output the deployed configuration makes of it.
 */
export async function smokeTestPlan(
  fn: DeployedFunction,
  notification: BucketNotification,
  fixture: string,
  runId: string,
): Promise<SmokeTestPlan> {
  const config = readConfig(fn.Environment?.Variables ?? {});
  const filter = triggerFilter(notification, fn.FunctionArn ?? "", config.sourceBucket ?? "");
  if (filter.prefix !== config.sourcePrefix) {
    throw new SmokeTestError(
      `the source bucket notifies the function of keys under "${filter.prefix}" but its ` +
        `SOURCE_PREFIX is "${config.sourcePrefix}": a deploy did not finish; redeploy (npm run deploy)`,
    );
  }
  const key = config.sourcePrefix + SMOKE_TEST_FOLDER + runId + (filter.suffix || extname(fixture));
  const bytes = readFileSync(fixture);
  const expected = await expectedOutputs(config, key, bytes);
  for (const item of [key, ...expected.map((e) => e.key)]) {
    if (/[\t\n\r]/.test(item)) throw new SmokeTestError(`a key with a tab or newline: ${item}`);
  }
  const { format } = await sharp(bytes).metadata();
  return { upload: { key, contentType: `image/${format}` }, expected };
}

/** What the handler's own engine makes of the fixture, at the keys its own key code gives. */
async function expectedOutputs(
  config: HandlerConfig,
  key: string,
  fixture: Uint8Array,
): Promise<Expected[]> {
  configureSharp();
  const { outputs, failures } = await makeRenditions(fixture, config.renditions, config.limits);
  const [failure] = failures;
  if (failure !== undefined) {
    throw new SmokeTestError(
      `the fixture cannot give rendition "${failure.rendition.name}": ${failure.error.message}`,
    );
  }
  return outputs.map((output) => ({
    key: destinationKey(key, config, output.rendition),
    rendition: output.rendition.name,
    format: output.format,
    width: output.width,
    height: output.height,
    contentType: output.contentType,
  }));
}

/** Why the output `image` (its bytes or file, served with `contentType`) is not `expected`; undefined: it is. */
export async function outputProblem(
  image: string | Uint8Array,
  contentType: string,
  expected: Expected,
): Promise<string | undefined> {
  const what = `rendition "${expected.rendition}" (${expected.key})`;
  if (contentType !== expected.contentType) {
    return `${what} has Content-Type '${contentType}', expected ${expected.contentType}`;
  }
  let meta: Metadata;
  try {
    meta = await sharp(image).metadata();
  } catch (error) {
    return `${what} is not an image: ${error instanceof Error ? error.message : String(error)}`;
  }
  // sharp names AVIF by its container, HEIF with AV1 compression.
  const format = meta.format === "heif" && meta.compression === "av1" ? "avif" : meta.format;
  const height = meta.pageHeight ?? meta.height;
  const seen = `${meta.width}x${height} ${format}`;
  const wanted = `${expected.width}x${expected.height} ${expected.format}`;
  return seen === wanted ? undefined : `${what} is ${seen}, expected ${wanted}`;
}

/** Progress on stderr as scripts/lib/common.sh prints it: numbered steps, indented lines. */
export interface Progress {
  step(title: string): void;
  info(line: string): void;
}

export function progress(write: (text: string) => void): Progress {
  let n = 0;
  return {
    step: (title) => write(`\n==> [${++n}] ${title}\n`),
    info: (line) => write(`    ${line}\n`),
  };
}

/** What the smoke test runs against. */
export interface SmokeTestContext {
  readonly lambda: LambdaClient;
  readonly s3: S3Client;
  readonly progress: Progress;
  /** Waits between looks for an output (default: a real timer). */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

export interface SmokeTestOptions {
  readonly functionName: string;
  /** Expected buckets (the GitHub variables); empty or undefined: the function's. */
  readonly sourceBucket?: string;
  readonly destBucket?: string;
  readonly fixture: string;
  readonly timeoutSeconds: number;
  readonly pollSeconds: number;
  /** Names the upload: <SOURCE_PREFIX>smoke-test/<runId><suffix>. */
  readonly runId: string;
}

/** An object the smoke test made; its VersionId when its bucket gave one. */
interface Made {
  readonly bucket: string;
  readonly key: string;
  versionId?: string;
}

/** Runs the smoke test; resolves when it passed, throws (SmokeTestError: why) when it did not. */
export async function smokeTest(ctx: SmokeTestContext, o: SmokeTestOptions): Promise<void> {
  const { step, info } = ctx.progress;
  step(`Read ${o.functionName}'s configuration and its source bucket's notification`);
  const fn = await ctx.lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: o.functionName }),
  );
  const { source, dest } = functionBuckets(fn, { source: o.sourceBucket, dest: o.destBucket });
  const notification = await ctx.s3.send(
    new GetBucketNotificationConfigurationCommand({ Bucket: source }),
  );
  const plan = await smokeTestPlan(fn, notification, o.fixture, o.runId);
  for (const e of plan.expected) {
    info(`${e.rendition}: s3://${dest}/${e.key}, ${e.width}x${e.height} ${e.format}`);
  }
  // Every output is deleted, seen or not: the function may write one after the timeout.
  const upload: Made = { bucket: source, key: plan.upload.key };
  const outputs: Made[] = plan.expected.map((e) => ({ bucket: dest, key: e.key }));
  try {
    step(`Upload the fixture to s3://${source}/${upload.key}`);
    const put = await ctx.s3.send(
      new PutObjectCommand({
        Bucket: source,
        Key: upload.key,
        Body: readFileSync(o.fixture),
        ContentType: plan.upload.contentType,
      }),
    );
    upload.versionId = put.VersionId;
    step(`Wait up to ${o.timeoutSeconds}s for each output in s3://${dest}, and check it`);
    const started = Date.now();
    for (const [i, expected] of plan.expected.entries()) {
      const output = outputs[i] as Made;
      output.versionId = await waitForOutput(ctx, o, output, expected.rendition, started);
      info(
        `${expected.rendition} appeared after about ${Math.round((Date.now() - started) / 1000)}s`,
      );
      info(await checkOutput(ctx.s3, output, expected));
    }
    step(
      `Smoke test passed: s3://${source}/${upload.key} -> ${outputs.length} output(s) in s3://${dest}`,
    );
  } finally {
    step("Clean up");
    // The source bucket is versioned: a plain delete would only add a delete marker and keep the
    // upload as a noncurrent version, so delete the exact versions made.
    for (const made of [upload, ...outputs]) await deleteMade(ctx, made);
  }
}

/** Looks for the output until it is there (its VersionId) or the timeout has passed since `started`. */
async function waitForOutput(
  ctx: SmokeTestContext,
  o: SmokeTestOptions,
  output: Made,
  rendition: string,
  started: number,
): Promise<string | undefined> {
  for (;;) {
    try {
      const head = await ctx.s3.send(
        new HeadObjectCommand({ Bucket: output.bucket, Key: output.key }),
      );
      return head.VersionId;
    } catch (error) {
      if (!isAbsent(error)) throw error;
    }
    if (Date.now() - started >= o.timeoutSeconds * 1000) {
      throw new SmokeTestError(
        `no ${rendition} output at s3://${output.bucket}/${output.key} after ${o.timeoutSeconds}s; see the function's logs: aws logs tail /aws/lambda/${o.functionName} --since 15m`,
      );
    }
    await (ctx.sleep ?? sleep)(o.pollSeconds * 1000);
  }
}

/** Downloads the output (the version seen) and checks it; "RENDITION: WxH FORMAT" when right. */
async function checkOutput(s3: S3Client, output: Made, expected: Expected): Promise<string> {
  const got = await s3.send(
    new GetObjectCommand({ Bucket: output.bucket, Key: output.key, VersionId: output.versionId }),
  );
  const bytes = (await got.Body?.transformToByteArray()) ?? new Uint8Array();
  const problem = await outputProblem(bytes, got.ContentType ?? "", expected);
  if (problem !== undefined) throw new SmokeTestError(problem);
  return `${expected.rendition}: ${expected.width}x${expected.height} ${expected.format}`;
}

async function deleteMade(ctx: SmokeTestContext, made: Made): Promise<void> {
  const where = `s3://${made.bucket}/${made.key}`;
  try {
    await ctx.s3.send(
      new DeleteObjectCommand({ Bucket: made.bucket, Key: made.key, VersionId: made.versionId }),
    );
    ctx.progress.info(
      `deleted ${where}${made.versionId === undefined ? "" : ` (version ${made.versionId})`}`,
    );
  } catch (error) {
    ctx.progress.info(`could not delete ${where} (${describeError(error)}): delete it by hand`);
  }
}

/** The deployed function's architecture and SOURCE_PREFIX (scripts/bootstrap.sh's last step). */
export async function functionSettings(
  lambda: LambdaClient,
  functionName: string,
): Promise<{ architecture: string; sourcePrefix: string }> {
  const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  return {
    architecture: fn.Architectures?.[0] ?? "x86_64",
    sourcePrefix: fn.Environment?.Variables?.SOURCE_PREFIX ?? "",
  };
}

export const USAGE = `Usage: scripts/smoke-test.sh --function-name NAME [--source-bucket B] [--dest-bucket B]
                             [--region R] [--fixture FILE] [--timeout SECONDS] [--dry-run] [--help]

  1. Reads the function's configuration and its source bucket's notification. Buckets given as
     options must match the function's (catches stale GitHub variables).
  2. Decides (ops/smoke-test.ts) what to upload and what to expect: the key goes under
     <SOURCE_PREFIX>smoke-test/ and ends with the notification's suffix, so it triggers the
     function; the outputs are every rendition the function's own configuration (RENDITIONS, or
     the THUMB_* settings) makes, at the handler's own keys, with the format and size its engine
     gives the fixture.
  3. Uploads the fixture (a 640x480 JPEG).
  4. Waits for each output (default timeout 120 s in all).
  5. Checks each one's Content-Type, format and size.
  6. Deletes the fixture and every output, whatever happened: by version ID where the bucket
     is versioned (the source is), so no delete marker or old version is left behind.

Options:
  --function-name NAME  the deployed function
  --source-bucket B     expected source bucket (default: the function's SOURCE_BUCKET)
  --dest-bucket B       expected destination bucket (default: the function's DEST_BUCKET)
  --region R            AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the AWS config's)
  --fixture FILE        image to upload (default: scripts/fixtures/smoke-test.jpg, 640x480)
  --timeout SECONDS     how long to wait for the outputs (default: 120)
  --dry-run             say what it would read and do, and call nothing
  --help                show this help
Environment: SMOKE_TEST_POLL_SECONDS, seconds between checks for an output (default 3).
`;

const OPTIONS = {
  "function-name": { type: "string" },
  "source-bucket": { type: "string" },
  "dest-bucket": { type: "string" },
  region: { type: "string" },
  fixture: { type: "string" },
  timeout: { type: "string", default: "120" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The options, or an error in the scripts' words ("unknown option: --x", "--x needs a value"). */
function commandLine(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? "";
    process.stderr.write(USAGE);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new Error(`unknown option: ${option}`);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new Error(`${option} needs a value`);
    throw new Error(message);
  }
}

/** A whole number of seconds from `text`, or an error naming `what`. */
function seconds(text: string, what: string): number {
  if (!/^[0-9]+$/.test(text)) throw new Error(`${what} must be a number of seconds, got '${text}'`);
  return Number(text);
}

/** --region, else AWS_REGION, AWS_DEFAULT_REGION, else the SDK's (the AWS config file's). */
async function regionOf(given: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const region = given || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (region) return region;
  try {
    return await new LambdaClient({}).config.region();
  } catch {
    throw new Error("no AWS region: pass --region or set AWS_REGION");
  }
}

/** <GITHUB_SHA or manual>-<UTC time, 14 digits>-<pid>: one run's upload. */
function runIdOf(env: NodeJS.ProcessEnv): string {
  const time = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  return `${env.GITHUB_SHA || "manual"}-${time}-${process.pid}`;
}

async function main(args: string[]): Promise<number> {
  const env = process.env;
  if (args[0] === "function-settings") {
    const [, functionName = "", region = ""] = args;
    const lambda = new LambdaClient(clientConfig({ region }));
    const { architecture, sourcePrefix } = await functionSettings(lambda, functionName);
    process.stdout.write(`${architecture}\t${sourcePrefix}\n`);
    return 0;
  }
  const values = commandLine(args);
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const functionName = values["function-name"] ?? "";
  if (functionName === "") {
    process.stderr.write(USAGE);
    throw new Error("--function-name is required");
  }
  // The default is the project's (node_tool runs this from the project root); a --fixture given
  // is read relative to where scripts/smoke-test.sh was run.
  const fixture =
    values.fixture === undefined
      ? resolve("scripts", "fixtures", "smoke-test.jpg")
      : resolve(env.SMOKE_TEST_CALLER_DIR ?? ".", values.fixture);
  if (!statSync(fixture, { throwIfNoEntry: false })?.isFile())
    throw new Error(`fixture ${fixture} not found`);
  const timeoutSeconds = seconds(values.timeout, "--timeout");
  const pollSeconds = seconds(env.SMOKE_TEST_POLL_SECONDS || "3", "SMOKE_TEST_POLL_SECONDS");
  const out = progress((text) => process.stderr.write(text));
  if (values["dry-run"] === true) {
    out.step(`Read ${functionName}'s configuration and its source bucket's notification`);
    out.info(
      `would read ${functionName}'s configuration (lambda:GetFunctionConfiguration) and the notification of ${values["source-bucket"] || "its source bucket"} (s3:GetBucketNotificationConfiguration), upload the fixture where the notification triggers the function, wait for every output its configuration makes, check and delete them`,
    );
    return 0;
  }
  const config = clientConfig({ region: await regionOf(values.region, env) });
  try {
    await smokeTest(
      { lambda: new LambdaClient(config), s3: new S3Client(config), progress: out },
      {
        functionName,
        sourceBucket: values["source-bucket"],
        destBucket: values["dest-bucket"],
        fixture,
        timeoutSeconds,
        pollSeconds,
        runId: runIdOf(env),
      },
    );
  } catch (error) {
    // Our own reasons read as they are; the SDK's keep their error name (runTool).
    throw error instanceof SmokeTestError ? new Error(error.message) : error;
  }
  return 0;
}

if (require.main === module) runTool(main, USAGE);
