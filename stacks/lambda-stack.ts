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
 * The image build and rollout program (scripts/build-and-roll-out.sh --help says what it does),
 * relative to the project root. Terraform runs it with the project root as its working directory
 * (cdktf deploy runs Terraform in cdktf.out/stacks/lambda), and the script finds its sibling
 * scripts from its own location. Its settings come from the environment set below.
 */
export const ROLLOUT_SCRIPT = "scripts/build-and-roll-out.sh";

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
          command: `bash ${ROLLOUT_SCRIPT}`,
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
