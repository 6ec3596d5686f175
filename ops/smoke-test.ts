/**
 * What scripts/smoke-test.sh expects of a deployed pipeline. The script runs the AWS CLI and
 * hands over its JSON; this decides, from what is deployed and never from the checkout's settings:
 *
 *   node dist/ops/smoke-test.js buckets FUNCTION_JSON [SOURCE_BUCKET] [DEST_BUCKET]
 *       prints "SOURCE<TAB>DEST", the function's buckets; fails when a bucket given (the GitHub
 *       variables) is not the function's
 *   node dist/ops/smoke-test.js plan FUNCTION_JSON NOTIFICATION_JSON FIXTURE RUN_ID
 *       prints the upload, "upload<TAB>KEY<TAB>CONTENT-TYPE": under the function's SOURCE_PREFIX
 *       and the smoke test's folder, ending with the notification's suffix so that it triggers
 *       the function; then one line per output the function makes of it,
 *       "expect<TAB>KEY<TAB>RENDITION<TAB>FORMAT<TAB>WIDTHxHEIGHT<TAB>CONTENT-TYPE": the handler's
 *       own configuration (handler/config.ts) read from the function's environment, its own key
 *       code (handler/keys.ts), and its own engine run here on the fixture for the sizes
 *   node dist/ops/smoke-test.js check FILE CONTENT_TYPE EXPECT_LINE
 *       checks a downloaded output (and the Content-Type S3 gave it) against its expect line;
 *       prints "RENDITION: WIDTHxHEIGHT FORMAT", or says what differs and exits 1
 *
 * FUNCTION_JSON is `aws lambda get-function-configuration --output json`; NOTIFICATION_JSON is
 * `aws s3api get-bucket-notification-configuration --output json` of the function's source
 * bucket. Exit status 1 with the reason on stderr when the deployment cannot pass.
 * scripts/lib/common.sh wraps it as `smoke_test`.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import type { LambdaFunctionConfiguration, NotificationConfiguration } from "@aws-sdk/client-s3";
import sharp, { type Metadata } from "sharp";
import { type HandlerConfig, readConfig } from "../handler/config";
import { configureSharp, makeRenditions } from "../handler/engine";
import { destinationKey } from "../handler/keys";
import { SMOKE_TEST_FOLDER } from "../stacks/deploy-role";

/** The fields of `aws lambda get-function-configuration` read here. */
export interface DeployedFunction {
  readonly FunctionArn?: string;
  readonly Environment?: { readonly Variables?: Readonly<Record<string, string>> };
}

/** The fields of `aws s3api get-bucket-notification-configuration` read here. */
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

export function planLines(plan: SmokeTestPlan): string[] {
  return [
    ["upload", plan.upload.key, plan.upload.contentType].join("\t"),
    ...plan.expected.map(expectLine),
  ];
}

export function expectLine(e: Expected): string {
  return ["expect", e.key, e.rendition, e.format, `${e.width}x${e.height}`, e.contentType].join(
    "\t",
  );
}

export function parseExpectLine(line: string): Expected {
  const [kind, key = "", rendition = "", format = "", size = "", contentType = ""] =
    line.split("\t");
  const [width, height] = size.split("x").map(Number);
  if (kind !== "expect" || width === undefined || height === undefined) {
    throw new Error(`not an expect line: ${JSON.stringify(line)}`);
  }
  return { key, rendition, format, width, height, contentType };
}

/** Why the output in `file` (served with `contentType`) is not `expected`; undefined: it is. */
export async function outputProblem(
  file: string,
  contentType: string,
  expected: Expected,
): Promise<string | undefined> {
  const what = `rendition "${expected.rendition}" (${expected.key})`;
  if (contentType !== expected.contentType) {
    return `${what} has Content-Type '${contentType}', expected ${expected.contentType}`;
  }
  let meta: Metadata;
  try {
    meta = await sharp(file).metadata();
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

const readJson = <T>(file: string): T => {
  const text = readFileSync(file, "utf8").trim();
  // The AWS CLI prints nothing for a bucket without any notification configuration.
  return (text === "" ? {} : JSON.parse(text)) as T;
};

async function main([command, ...args]: string[]): Promise<number> {
  switch (command) {
    case "buckets": {
      const [fnFile = "", source, dest] = args;
      const buckets = functionBuckets(readJson(fnFile), { source, dest });
      process.stdout.write(`${buckets.source}\t${buckets.dest}\n`);
      return 0;
    }
    case "plan": {
      const [fnFile = "", notificationFile = "", fixture = "", runId = ""] = args;
      const plan = await smokeTestPlan(
        readJson(fnFile),
        readJson(notificationFile),
        fixture,
        runId,
      );
      process.stdout.write(
        planLines(plan)
          .map((line) => `${line}\n`)
          .join(""),
      );
      return 0;
    }
    case "check": {
      const [file = "", contentType = "", line = ""] = args;
      const expected = parseExpectLine(line);
      const problem = await outputProblem(file, contentType, expected);
      if (problem !== undefined) throw new SmokeTestError(problem);
      process.stdout.write(
        `${expected.rendition}: ${expected.width}x${expected.height} ${expected.format}\n`,
      );
      return 0;
    }
    default:
      console.error(
        "usage: smoke-test.js buckets FUNCTION_JSON [SOURCE DEST] | plan FUNCTION_JSON NOTIFICATION_JSON FIXTURE RUN_ID | check FILE CONTENT_TYPE EXPECT_LINE",
      );
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`\nerror: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
