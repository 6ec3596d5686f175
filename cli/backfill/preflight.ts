/**
 * Before a backfill starts, what would make it fail or do harm, said with what to set or fix.
 * A direct backfill, before it lists anything (and draws its progress bar): can this machine
 * reach the S3 endpoint with credentials, and list the source bucket? One ListObjectsV2 of one
 * key (the permission the run needs anyway). A batch backfill, before it asks: credentials, and
 * the function's reserved concurrency, the only cap on how many invocations its job runs at once.
 */

import { GetFunctionConcurrencyCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { HandlerConfig } from "../../handler/config";
import { httpStatus, isNotFound } from "../../handler/s3-errors";
import { describeError, isAbsent } from "../../ops/aws";
import { SETTINGS } from "../../stacks/config";
import { LOCAL_CREDENTIALS } from "../serve/credentials";

const NO_CREDENTIALS =
  "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for the local service, " +
  `npm start: ${LOCAL_CREDENTIALS.accessKeyId} and ${LOCAL_CREDENTIALS.secretAccessKey}), or ` +
  "AWS_PROFILE for a profile in ~/.aws/credentials";

/**
 * Undefined when the client finds credentials; else what to set. For `--batch`, before it asks:
 * otherwise CreateJob would fail with the SDK's own error after the question was answered.
 */
export async function credentialsProblem(client: {
  readonly config: { readonly credentials: () => Promise<unknown> };
}): Promise<string | undefined> {
  try {
    await client.config.credentials();
    return undefined;
  } catch (error) {
    if (error instanceof Error && error.name === "CredentialsProviderError") return NO_CREDENTIALS;
    throw error;
  }
}

/** Undefined when the source bucket can be listed; else what is wrong and what to set. */
export async function sourceProblem(
  s3: S3Client,
  config: HandlerConfig,
): Promise<string | undefined> {
  const bucket = config.sourceBucket ?? "";
  const where = config.endpoint ?? "AWS S3";
  try {
    await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: config.sourcePrefix, MaxKeys: 1 }),
    );
    return undefined;
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const message = error instanceof Error ? error.message : String(error);
    if (name === "CredentialsProviderError") return NO_CREDENTIALS;
    if (/region is missing/i.test(message)) {
      return "no AWS region: set AWS_REGION or --region (the source bucket's region)";
    }
    const status = httpStatus(error);
    if (status === undefined) {
      // "AWS SDK error wrapper for Error: connect ECONNREFUSED ...": the network's own words.
      const cause = message.split("Error: ").at(-1);
      return (
        `cannot reach the S3 endpoint ${where} (${cause}); ` +
        (config.endpoint === undefined
          ? "check the network"
          : "is the server running (the local service: npm start)? --endpoint sets its URL")
      );
    }
    if (isNotFound(error)) return `the source bucket ${bucket} does not exist at ${where}`;
    if (status === 403) {
      return `${where} refused to list s3://${bucket} with these credentials (${name}: ${message})`;
    }
    return `cannot list s3://${bucket} at ${where}: HTTP ${status} ${name}: ${message}`;
  }
}

/** The flag that lets `backfill --batch` run a function without reserved concurrency. */
export const ALLOW_UNRESERVED_FLAG = "allow-unreserved";

/**
 * The function's concurrency as `backfill --batch` weighs it: `reserved` caps the job; `risk`
 * says why running without a known cap can starve the account (--allow-unreserved accepts it);
 * `refusal` is a reason no flag overrides.
 */
export type FunctionConcurrency =
  | { readonly reserved: number }
  | { readonly risk: string }
  | { readonly refusal: string };

/**
 * Reads the function's reserved concurrency (GetFunctionConcurrency). An S3 Batch Operations job
 * invokes the function as fast as Lambda accepts; only a reservation caps it. Without one, a
 * large job can take the account's whole unreserved concurrency and throttle every other
 * function in it, and this function's own uploads.
 */
export async function functionConcurrency(
  lambda: LambdaClient,
  functionArn: string,
): Promise<FunctionConcurrency> {
  const { key, env } = SETTINGS.reservedConcurrency;
  const cap =
    `set ${env} (${key} in cdktf.json) and deploy to cap the job, or pass ` +
    `--${ALLOW_UNRESERVED_FLAG} to run it anyway`;
  try {
    const { ReservedConcurrentExecutions: reserved } = await lambda.send(
      new GetFunctionConcurrencyCommand({ FunctionName: functionArn }),
    );
    if (reserved !== undefined) return { reserved };
    return {
      risk:
        `${functionArn} has no reserved concurrency: a Batch job invokes it as fast as Lambda ` +
        "accepts, up to the account's whole unreserved concurrency, throttling every other " +
        `function in the account (and this one's uploads) until the job ends; ${cap}`,
    };
  } catch (error) {
    if (isAbsent(error)) {
      return { refusal: `the function ${functionArn} does not exist: deploy first` };
    }
    return {
      risk:
        `cannot read the reserved concurrency of ${functionArn} ` +
        `(lambda:GetFunctionConcurrency): ${describeError(error)}; ${cap}`,
    };
  }
}
