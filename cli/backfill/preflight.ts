/**
 * Before a direct backfill lists anything (and draws its progress bar): can this machine reach
 * the S3 endpoint with credentials, and list the source bucket? One ListObjectsV2 of one key
 * (the permission the run needs anyway); its failure is turned into what to set or fix.
 */

import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { HandlerConfig } from "../../handler/config";
import { httpStatus, isNotFound } from "../../handler/s3-errors";
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
