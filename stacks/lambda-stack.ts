/**
 * The function and what drives it: the image build, the container-image function pinned to a
 * digest, asynchronous-invocation settings, the S3 trigger, alarms and the stack's outputs.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsEcrImage } from "@cdktf/provider-aws/lib/data-aws-ecr-image";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { DataResource, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { AlarmTopic } from "./alarm-topic";
import { configureStack, type StackBaseProps } from "./stack-base";

/** The image the deploy builds: where from, and under which tag. */
export interface ImageBuild {
  /** Project root: the build context, and where scripts/push-image.sh lives. */
  readonly projectRoot: string;
  /** Hash of the image inputs (stacks/image-inputs.ts): a new value rebuilds the image. */
  readonly inputsHash: string;
  /** The image inputs, relative to projectRoot: the rollout refuses them uncommitted. */
  readonly inputs: readonly string[];
  readonly tag: string;
}

export interface LambdaStackProps extends StackBaseProps {
  readonly image: ImageBuild;
  // Plain values from the dependencies stack
  readonly accountId: string;
  readonly sourceBucketName: string;
  readonly sourceBucketArn: string;
  readonly destinationBucketName: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
  readonly executionRoleArn: string;
  readonly failureQueueArn: string;
  readonly failureQueueName: string;
  readonly failureQueueUrl: string;
  readonly backfillRoleArn: string;
  readonly backfillReportPrefix: string;
  readonly deployRoleArn?: string;
  readonly deployRoleName?: string;
}

const PLATFORM = { x86_64: "linux/amd64", arm64: "linux/arm64" } as const;

/**
 * Reads what the function runs (nothing before the first deploy), then refuses a stale or
 * uncommitted checkout (scripts/check-rollout.sh prints the commit that holds the image inputs,
 * or nothing), then builds and pushes the image (scripts/push-image.sh reports progress on stderr
 * and prints the digest as its last stdout line; an existing tag is used only if it holds these
 * inputs; the image records its inputs and commit as tags), then points the function at it, unless
 * the function does not exist yet: the first deploy creates it from this image. If the function
 * changed while the image was built (CI deployed), nothing is rolled out. Either way the image is
 * tagged `deployed` (and the one it replaced `previous`) so ECR expiry never removes them
 * (scripts/tag-deployed.sh). Inputs come from the environment: REPOSITORY_URL TAG INPUTS_HASH
 * IMAGE_INPUTS PLATFORM ARCHITECTURE REGION FUNCTION_NAME, and THUMBNAILER_ALLOW_ROLLBACK from the
 * deploy's own environment (stacks/config.ts ONE_RUN_SWITCHES).
 */
export const BUILD_AND_ROLL_OUT = `set -euo pipefail
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT
# The image the function runs, or nothing when it does not exist yet.
running() {
  if aws lambda get-function --function-name "$FUNCTION_NAME" --region "$REGION" \\
    --query Code.ResolvedImageUri --output text 2>"$errors"; then
    return 0
  fi
  case "$(cat "$errors")" in
    *ResourceNotFoundException*) ;;
    *) cat "$errors" >&2; return 1 ;;
  esac
}
previous="$(running)"
commit="$(bash scripts/check-rollout.sh --repository-url "$REPOSITORY_URL" --region "$REGION" \\
  --running "$previous" --image-inputs "$IMAGE_INPUTS")"
digest="$(bash scripts/push-image.sh --repository-url "$REPOSITORY_URL" --tag "$TAG" \\
  --inputs-hash "$INPUTS_HASH" --commit "$commit" --platform "$PLATFORM" --region "$REGION" \\
  | tail -n 1)"
if [[ ! "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "scripts/push-image.sh printed no digest (last line: '$digest')" >&2
  exit 1
fi
now="$(running)"
if [ "$now" != "$previous" ]; then
  echo "$FUNCTION_NAME changed while the image was built (from '$previous' to '$now'): nothing rolled out; deploy again to check against what it runs now" >&2
  exit 1
fi
if [ -z "$previous" ]; then
  bash scripts/tag-deployed.sh --repository-url "$REPOSITORY_URL" --deployed "$digest" --region "$REGION"
  echo "$FUNCTION_NAME does not exist yet: it will be created from $digest"
  exit 0
fi
aws lambda update-function-code --function-name "$FUNCTION_NAME" --region "$REGION" \\
  --image-uri "$REPOSITORY_URL@$digest" --architectures "$ARCHITECTURE" --output text --query LastUpdateStatus
aws lambda wait function-updated --function-name "$FUNCTION_NAME" --region "$REGION"
echo "$FUNCTION_NAME now runs $REPOSITORY_URL@$digest"
bash scripts/tag-deployed.sh --repository-url "$REPOSITORY_URL" --deployed "$digest" \\
  --previous "$previous" --region "$REGION"
`;

export class LambdaStack extends TerraformStack {
  public readonly functionName: string;
  public readonly functionArn: string;

  constructor(scope: Construct, id: string, props: LambdaStackProps) {
    super(scope, id);
    configureStack(this, id, props);
    const { config, image } = props;

    // Image build and rollout: only when the image inputs, tag, platform or repository change
    const platform = PLATFORM[config.architecture];
    const imageBuild = new DataResource(this, "image-build", {
      triggersReplace: {
        inputs: image.inputsHash,
        tag: image.tag,
        platform,
        repository: props.repositoryUrl,
      },
      provisioners: [
        {
          type: "local-exec",
          workingDir: image.projectRoot,
          interpreter: ["bash", "-c"],
          command: BUILD_AND_ROLL_OUT,
          environment: {
            REPOSITORY_URL: props.repositoryUrl,
            TAG: image.tag,
            INPUTS_HASH: image.inputsHash,
            IMAGE_INPUTS: image.inputs.join("\n"),
            PLATFORM: platform,
            ARCHITECTURE: config.architecture,
            REGION: config.region,
            FUNCTION_NAME: config.name,
          },
        },
      ],
    });

    // The image the function is created from: the newest in the repository (this deploy's push),
    // pinned by digest. It is read on every plan, and a lookup by tag would fail once the ECR
    // lifecycle expired that tag.
    const latestImage = new DataAwsEcrImage(this, "latest-image", {
      repositoryName: props.repositoryName,
      mostRecent: true,
      dependsOn: [imageBuild],
    });

    // The function
    const fn = new LambdaFunction(this, "function", {
      functionName: config.name,
      description: "Makes a thumbnail of every image uploaded to the source bucket",
      role: props.executionRoleArn,
      packageType: "Image",
      imageUri: `${props.repositoryUrl}@${latestImage.imageDigest}`,
      // After creation the image is rolled out by image-build (when its inputs change) or by CI
      // (update-function-code): a deploy never reverts CI's image or its rollback. The
      // architecture goes with the image: image-build sets both in one update-function-code
      // (the platform is one of its triggers). Were it managed here, Terraform would send it
      // with the image in its state, the old one, after image-build had rolled out the new one.
      lifecycle: { ignoreChanges: ["image_uri", "architectures"] },
      architectures: [config.architecture],
      memorySize: config.memoryMb,
      timeout: config.timeoutSeconds,
      reservedConcurrentExecutions: config.reservedConcurrency,
      tracingConfig: { mode: "Active" },
      environment: {
        variables: {
          ...config.handlerEnvironment,
          SOURCE_BUCKET: props.sourceBucketName,
          ...(config.notificationPrefix === "" ? {} : { SOURCE_PREFIX: config.notificationPrefix }),
          DEST_BUCKET: props.destinationBucketName,
        },
      },
    });

    // Asynchronous invocation: bounded retries and age, then the failure queue
    new LambdaFunctionEventInvokeConfig(this, "async-config", {
      functionName: fn.functionName,
      maximumRetryAttempts: config.retryAttempts,
      maximumEventAgeInSeconds: config.maxEventAgeSeconds,
      destinationConfig: { onFailure: { destination: props.failureQueueArn } },
    });

    // S3 trigger: only the source bucket of this account may invoke the function
    const permission = new LambdaPermission(this, "allow-s3-invoke", {
      statementId: "AllowSourceBucketInvoke",
      action: "lambda:InvokeFunction",
      functionName: fn.functionName,
      principal: "s3.amazonaws.com",
      sourceArn: props.sourceBucketArn,
      sourceAccount: props.accountId,
    });
    new S3BucketNotification(this, "source-notification", {
      bucket: props.sourceBucketName,
      lambdaFunction: [
        {
          lambdaFunctionArn: fn.arn,
          events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
          filterPrefix: config.notificationPrefix === "" ? undefined : config.notificationPrefix,
          filterSuffix: config.notificationSuffix === "" ? undefined : config.notificationSuffix,
        },
      ],
      // S3 tests the destination when the notification is saved: the permission must exist first.
      dependsOn: [permission],
    });

    // Alarms, with an optional e-mail subscription
    const lambdaMetric = (metricName: string): LambdaMetric => ({
      namespace: "AWS/Lambda",
      metricName,
      statistic: "Sum",
      dimensions: { FunctionName: fn.functionName },
    });
    const alarms: { id: string; description: string; metric: LambdaMetric }[] = [
      {
        id: "errors",
        description: "The function failed (each failure is retried)",
        metric: lambdaMetric("Errors"),
      },
      {
        id: "throttles",
        description: "Invocations were throttled",
        metric: lambdaMetric("Throttles"),
      },
      {
        id: "dropped-events",
        description: "Asynchronous events were dropped before the function ran them",
        metric: lambdaMetric("AsyncEventsDropped"),
      },
      {
        id: "failure-queue-depth",
        description: "Events exhausted their retries: see the failure queue",
        metric: {
          namespace: "AWS/SQS",
          metricName: "ApproximateNumberOfMessagesVisible",
          statistic: "Maximum",
          dimensions: { QueueName: props.failureQueueName },
        },
      },
    ];
    const alarmName = (id: string) => `${config.name}-${id}`;
    const alarmActions =
      config.alarmEmail === undefined
        ? undefined
        : [
            new AlarmTopic(this, "alarms", {
              topicName: `${config.name}-alarms`,
              accountId: props.accountId,
              region: config.region,
              alarmNames: alarms.map(({ id }) => alarmName(id)),
              email: config.alarmEmail,
            }).topicArn,
          ];
    for (const { id, description, metric } of alarms) {
      new CloudwatchMetricAlarm(this, id, {
        alarmName: alarmName(id),
        alarmDescription: description,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        evaluationPeriods: 1,
        period: 300,
        treatMissingData: "notBreaching",
        alarmActions,
        okActions: alarmActions,
        ...metric,
      });
    }

    // Deploy role: update and read this function only (CI's image rollout)
    if (props.deployRoleName !== undefined) {
      new IamRolePolicy(this, "deploy-function-policy", {
        name: "update-function",
        role: props.deployRoleName,
        policy: new DataAwsIamPolicyDocument(this, "deploy-function-permissions", {
          statement: [
            {
              sid: "UpdateFunctionCode",
              actions: [
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:UpdateFunctionCode",
              ],
              resources: [fn.arn],
            },
          ],
        }).json,
      });
    }

    // Outputs
    const output = (id: string, value: string, description: string) =>
      new TerraformOutput(this, id, { value, description });
    output("source-bucket", props.sourceBucketName, "Upload images here");
    output("destination-bucket", props.destinationBucketName, "Thumbnails appear here");
    output("function-name", fn.functionName, "The thumbnail function");
    output("repository-url", props.repositoryUrl, "ECR repository of the function's image");
    output("failure-queue-url", props.failureQueueUrl, "Events that exhausted their retries");
    // What `thumbnailer backfill --batch` reads to create its S3 Batch Operations job
    output("function-arn", fn.arn, "The thumbnail function's ARN (backfill jobs invoke it)");
    output(
      "source-prefix",
      config.notificationPrefix,
      "Only keys under this prefix are thumbnailed",
    );
    output(
      "backfill-role-arn",
      props.backfillRoleArn,
      "Role S3 Batch Operations backfill jobs run as",
    );
    output(
      "backfill-report-prefix",
      props.backfillReportPrefix,
      "Where backfill jobs write their manifest and report, in the destination bucket",
    );
    if (props.deployRoleArn !== undefined) {
      output("deploy-role-arn", props.deployRoleArn, "Role GitHub Actions assumes to deploy");
    }

    this.functionName = fn.functionName;
    this.functionArn = fn.arn;
  }
}

interface LambdaMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly statistic: string;
  readonly dimensions: Record<string, string>;
}
