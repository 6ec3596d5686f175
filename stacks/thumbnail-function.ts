/**
 * The thumbnail function: a container-image Lambda pinned to a digest, its asynchronous-invocation
 * settings, and the S3 trigger. Resources are created in the scope given (the stack itself), so
 * their Terraform addresses never change.
 */
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import type { Construct } from "constructs";

export interface ThumbnailFunctionProps {
  readonly functionName: string;
  /** repository@sha256:...: what the function is created from. */
  readonly imageUri: string;
  readonly architecture: string;
  readonly executionRoleArn: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly reservedConcurrency?: number;
  /** The handler's settings (THUMB_*, DEST_PREFIX, ...), set as its environment. */
  readonly handlerEnvironment: Readonly<Record<string, string>>;
  readonly sourceBucketName: string;
  /** The keys the function is notified of ("" = all), also its SOURCE_PREFIX. */
  readonly sourcePrefix: string;
  readonly destinationBucketName: string;
  readonly retryAttempts: number;
  readonly maxEventAgeSeconds: number;
  readonly failureQueueArn: string;
}

/** The function's environment: the handler's settings, its buckets and the source prefix. */
export function functionEnvironment(
  props: Pick<
    ThumbnailFunctionProps,
    "handlerEnvironment" | "sourceBucketName" | "sourcePrefix" | "destinationBucketName"
  >,
): Record<string, string> {
  return {
    ...props.handlerEnvironment,
    SOURCE_BUCKET: props.sourceBucketName,
    ...(props.sourcePrefix === "" ? {} : { SOURCE_PREFIX: props.sourcePrefix }),
    DEST_BUCKET: props.destinationBucketName,
  };
}

/** The function, and what happens to an event it fails. */
export function thumbnailFunction(scope: Construct, props: ThumbnailFunctionProps): LambdaFunction {
  // The function
  const fn = new LambdaFunction(scope, "function", {
    functionName: props.functionName,
    description: "Makes a thumbnail of every image uploaded to the source bucket",
    role: props.executionRoleArn,
    packageType: "Image",
    imageUri: props.imageUri,
    // After creation the image is rolled out by image-build (when its inputs change) or by CI
    // (update-function-code): a deploy never reverts CI's image or its rollback. The
    // architecture goes with the image: image-build sets both in one update-function-code
    // (the platform is one of its triggers). Were it managed here, Terraform would send it
    // with the image in its state, the old one, after image-build had rolled out the new one.
    lifecycle: { ignoreChanges: ["image_uri", "architectures"] },
    architectures: [props.architecture],
    memorySize: props.memoryMb,
    timeout: props.timeoutSeconds,
    reservedConcurrentExecutions: props.reservedConcurrency,
    tracingConfig: { mode: "Active" },
    environment: { variables: functionEnvironment(props) },
  });

  // Asynchronous invocation: bounded retries and age, then the failure queue
  new LambdaFunctionEventInvokeConfig(scope, "async-config", {
    functionName: fn.functionName,
    maximumRetryAttempts: props.retryAttempts,
    maximumEventAgeInSeconds: props.maxEventAgeSeconds,
    destinationConfig: { onFailure: { destination: props.failureQueueArn } },
  });
  return fn;
}

export interface SourceTriggerProps {
  readonly functionName: string;
  readonly functionArn: string;
  readonly accountId: string;
  readonly sourceBucketName: string;
  readonly sourceBucketArn: string;
  /** Only keys with this prefix and suffix notify the function ("" = any). */
  readonly prefix: string;
  readonly suffix: string;
}

/** S3 trigger: only the source bucket of this account may invoke the function. */
export function triggerFromSource(scope: Construct, props: SourceTriggerProps): void {
  // Permission to invoke, for this bucket of this account only
  const permission = new LambdaPermission(scope, "allow-s3-invoke", {
    statementId: "AllowSourceBucketInvoke",
    action: "lambda:InvokeFunction",
    functionName: props.functionName,
    principal: "s3.amazonaws.com",
    sourceArn: props.sourceBucketArn,
    sourceAccount: props.accountId,
  });
  // The notification: every created or removed object under the prefix, with the suffix
  new S3BucketNotification(scope, "source-notification", {
    bucket: props.sourceBucketName,
    lambdaFunction: [
      {
        lambdaFunctionArn: props.functionArn,
        events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        filterPrefix: props.prefix === "" ? undefined : props.prefix,
        filterSuffix: props.suffix === "" ? undefined : props.suffix,
      },
    ],
    // S3 tests the destination when the notification is saved: the permission must exist first.
    dependsOn: [permission],
  });
}
