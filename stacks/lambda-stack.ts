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
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { DataResource, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { configureStack, type StackBaseProps } from "./stack-base";

/** The image the deploy builds: where from, and under which tag. */
export interface ImageBuild {
  /** Project root: the build context, and where scripts/push-image.sh lives. */
  readonly projectRoot: string;
  /** Hash of the image inputs (stacks/image-inputs.ts): a new value rebuilds the image. */
  readonly inputsHash: string;
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
  readonly deployRoleArn?: string;
  readonly deployRoleName?: string;
}

const PLATFORM = { x86_64: "linux/amd64", arm64: "linux/arm64" } as const;

export class LambdaStack extends TerraformStack {
  public readonly functionName: string;
  public readonly functionArn: string;

  constructor(scope: Construct, id: string, props: LambdaStackProps) {
    super(scope, id);
    configureStack(this, id, props);
    const { config, image } = props;

    // Image build: push a new image only when its inputs, tag, platform or repository change
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
          // Through bash, so the deploy does not depend on the script's executable bit.
          command: [
            "bash scripts/push-image.sh",
            `--repository-url ${props.repositoryUrl}`,
            `--tag ${image.tag}`,
            `--platform ${platform}`,
            `--region ${config.region}`,
          ].join(" "),
        },
      ],
    });

    // The image to run: the newest in the repository, pinned by digest. After this deploy's push
    // that is our image; after CI pushes and runs update-function-code it is CI's image, so the
    // next deploy keeps it instead of reverting it (docs/deploy.md).
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
    let alarmActions: string[] | undefined;
    if (config.alarmEmail !== undefined) {
      const topic = new SnsTopic(this, "alarm-topic", {
        name: `${config.name}-alarms`,
        kmsMasterKeyId: "alias/aws/sns",
      });
      new SnsTopicSubscription(this, "alarm-email", {
        topicArn: topic.arn,
        protocol: "email",
        endpoint: config.alarmEmail,
      });
      alarmActions = [topic.arn];
    }
    const alarm = (id: string, description: string, metric: LambdaMetric) =>
      new CloudwatchMetricAlarm(this, id, {
        alarmName: `${config.name}-${id}`,
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
    const lambdaMetric = (metricName: string): LambdaMetric => ({
      namespace: "AWS/Lambda",
      metricName,
      statistic: "Sum",
      dimensions: { FunctionName: fn.functionName },
    });
    alarm("errors", "The function failed (each failure is retried)", lambdaMetric("Errors"));
    alarm("throttles", "Invocations were throttled", lambdaMetric("Throttles"));
    alarm(
      "dropped-events",
      "Asynchronous events were dropped before the function ran them",
      lambdaMetric("AsyncEventsDropped"),
    );
    alarm("failure-queue-depth", "Events exhausted their retries: see the failure queue", {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      statistic: "Maximum",
      dimensions: { QueueName: props.failureQueueName },
    });

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
