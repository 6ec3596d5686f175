/**
 * The function and what drives it: the image build and rollout (stacks/rollout.ts), the
 * container-image function pinned to a digest with its asynchronous-invocation settings and S3
 * trigger (thumbnail-function.ts), the alarms (alarms.ts), the deploy role's rights on the
 * function (deploy-role.ts) and the stack's outputs. Each part creates its resources in this
 * stack's own scope, so their Terraform addresses stay what they were.
 */
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { functionAlarms } from "./alarms";
import { allowDeployRoleToUpdate } from "./deploy-role";
import { type ImageBuild, imageRollout } from "./rollout";
import { configureStack, type StackBaseProps } from "./stack-base";
import { thumbnailFunction, triggerFromSource } from "./thumbnail-function";

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

export class LambdaStack extends TerraformStack {
  public readonly functionName: string;
  public readonly functionArn: string;

  constructor(scope: Construct, id: string, props: LambdaStackProps) {
    super(scope, id);
    configureStack(this, id, props);
    const { config } = props;

    // Image build and rollout, and the image the function is created from
    const image = imageRollout(this, {
      image: props.image,
      repositoryName: props.repositoryName,
      repositoryUrl: props.repositoryUrl,
      functionName: config.name,
      architecture: config.architecture,
      region: config.region,
    });

    // The function, its asynchronous-invocation settings and its S3 trigger
    const fn = thumbnailFunction(this, {
      functionName: config.name,
      imageUri: `${props.repositoryUrl}@${image.imageDigest}`,
      architecture: config.architecture,
      executionRoleArn: props.executionRoleArn,
      memoryMb: config.memoryMb,
      timeoutSeconds: config.timeoutSeconds,
      reservedConcurrency: config.reservedConcurrency,
      handlerEnvironment: config.handlerEnvironment,
      sourceBucketName: props.sourceBucketName,
      sourcePrefix: config.notificationPrefix,
      destinationBucketName: props.destinationBucketName,
      retryAttempts: config.retryAttempts,
      maxEventAgeSeconds: config.maxEventAgeSeconds,
      failureQueueArn: props.failureQueueArn,
    });
    triggerFromSource(this, {
      functionName: fn.functionName,
      functionArn: fn.arn,
      accountId: props.accountId,
      sourceBucketName: props.sourceBucketName,
      sourceBucketArn: props.sourceBucketArn,
      prefix: config.notificationPrefix,
      suffix: config.notificationSuffix,
    });

    // Alarms, with an optional e-mail subscription
    functionAlarms(this, {
      name: config.name,
      functionName: fn.functionName,
      failureQueueName: props.failureQueueName,
      accountId: props.accountId,
      region: config.region,
      email: config.alarmEmail,
    });

    // Deploy role: update and read this function only (CI's image rollout)
    if (props.deployRoleName !== undefined) {
      allowDeployRoleToUpdate(this, { deployRoleName: props.deployRoleName, functionArn: fn.arn });
    }

    // Outputs
    outputs(this, props, { functionName: fn.functionName, functionArn: fn.arn });

    this.functionName = fn.functionName;
    this.functionArn = fn.arn;
  }
}

/** What `thumbnailer` and the deploy workflow read from the deployment (`terraform output`). */
function outputs(
  stack: TerraformStack,
  props: LambdaStackProps,
  fn: { readonly functionName: string; readonly functionArn: string },
): void {
  const output = (id: string, value: string, description: string) =>
    new TerraformOutput(stack, id, { value, description });
  output("source-bucket", props.sourceBucketName, "Upload images here");
  output("destination-bucket", props.destinationBucketName, "Thumbnails appear here");
  output("function-name", fn.functionName, "The thumbnail function");
  output("repository-url", props.repositoryUrl, "ECR repository of the function's image");
  output("failure-queue-url", props.failureQueueUrl, "Events that exhausted their retries");
  // What `thumbnailer backfill --batch` reads to create its S3 Batch Operations job
  output("function-arn", fn.functionArn, "The thumbnail function's ARN (backfill jobs invoke it)");
  output(
    "source-prefix",
    props.config.notificationPrefix,
    "Only keys under this prefix are thumbnailed",
  );
  output(
    "source-suffix",
    props.config.notificationSuffix,
    "Only keys ending with this are thumbnailed",
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
}
