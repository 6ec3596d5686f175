/**
 * The AWS SDK clients `ops/` decides with: one place that builds them (region, retries) and
 * tells the SDK's typed "not found" errors from real failures. Credentials come from the SDK's
 * default chain, as the AWS CLI's do (AWS_PROFILE, SSO, environment, instance roles), so a
 * script that runs `aws` and an ops tool it calls act as the same principal.
 */

/** What every client of a deployment is built with. */
export interface ClientOptions {
  readonly region: string;
}

/** The configuration every ops client is constructed with: the region, standard retries. */
export function clientConfig(options: ClientOptions): { region: string; maxAttempts: number } {
  return { region: options.region, maxAttempts: 5 };
}

/** The SDK error names that mean "there is no such thing", across the services ops reads. */
const ABSENT = new Set([
  "ResourceNotFoundException", // Lambda, CloudWatch Logs
  "NoSuchEntityException", // IAM (the SDK's class name)
  "NoSuchEntity", // IAM (the API's error code)
  "RepositoryNotFoundException", // ECR
  "ImageNotFoundException", // ECR
  "NotFound", // S3 HeadBucket / HeadObject
  "NoSuchBucket",
  "NoSuchKey",
  "QueueDoesNotExist", // SQS
  "AWS.SimpleQueueService.NonExistentQueue",
]);

/** Whether `error` is the SDK's typed "does not exist" error (never matched in message text). */
export function isAbsent(error: unknown): boolean {
  return error instanceof Error && ABSENT.has(error.name);
}

/** Whether `error` is an access denial (HTTP 403), e.g. a bucket name another account owns. */
export function isForbidden(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
    ?.httpStatusCode;
  return status === 403 || (error instanceof Error && /^(AccessDenied|Forbidden)/.test(error.name));
}

/** `read()`'s result, or undefined when the SDK says the thing does not exist. */
export async function unlessAbsent<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
}

/** One line saying why an SDK call failed: its error name and message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
