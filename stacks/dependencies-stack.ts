/**
 * Everything the function needs before it can exist: the image repository
 * (stacks/image-repository.ts), the buckets (private-bucket.ts), the log group and failure queue
 * (logs-and-failures.ts), the execution and backfill roles (function-roles.ts) and the GitHub
 * Actions deploy role (deploy-role.ts). Each part creates its resources in this stack's own scope,
 * so their Terraform addresses stay what they were. The Lambda stack reads the plain values below
 * through cross-stack references.
 */
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { deployRole } from "./deploy-role";
import { backfillRole, executionRole } from "./function-roles";
import { allowFunctionPull, imageRepository } from "./image-repository";
import { logsAndFailures } from "./logs-and-failures";
import { PrivateBucket } from "./private-bucket";
import { configureStack, ownerTag, roleName, type StackBaseProps } from "./stack-base";

export type DependenciesStackProps = StackBaseProps;

/**
 * Where S3 Batch Operations backfill jobs write their manifest and completion report: in the
 * destination bucket, which notifies nothing, at its root, outside DEST_PREFIX (with the default
 * empty DEST_PREFIX, only a source key starting with it could have its thumbnail land here, and
 * would expire with the reports: BACKFILL_REPORT_RETENTION_DAYS).
 */
export const BACKFILL_REPORT_PREFIX = "thumbnailer-backfill/";

/**
 * Days a backfill job's manifest and report are kept under BACKFILL_REPORT_PREFIX: long enough
 * to read a report after a job (and to compare two runs), short enough that a bucket holding
 * only thumbnails is not billed for old listings of every key.
 */
export const BACKFILL_REPORT_RETENTION_DAYS = 30;

export class DependenciesStack extends TerraformStack {
  public readonly accountId: string;
  public readonly sourceBucketName: string;
  public readonly sourceBucketArn: string;
  public readonly destinationBucketName: string;
  public readonly destinationBucketArn: string;
  public readonly repositoryName: string;
  public readonly repositoryUrl: string;
  public readonly executionRoleArn: string;
  public readonly logGroupName: string;
  public readonly failureQueueArn: string;
  public readonly failureQueueName: string;
  public readonly failureQueueUrl: string;
  /** The role S3 Batch Operations assumes to run `thumbnailer backfill --batch` jobs. */
  public readonly backfillRoleArn: string;
  public readonly backfillReportPrefix = BACKFILL_REPORT_PREFIX;
  /** Set only when a GitHub repository is configured. */
  public readonly deployRoleArn?: string;
  public readonly deployRoleName?: string;

  constructor(scope: Construct, id: string, props: DependenciesStackProps) {
    super(scope, id);
    configureStack(this, id, props);
    const { config } = props;
    const name = config.name;

    // Image repository and its expiry
    const repository = imageRepository(this, { name, keepImages: config.keepImages });
    // A repository's registry ID is the account ID: no STS call needed to learn it.
    this.accountId = repository.registryId;
    // The function's ARN, for the policies here: the function is in the Lambda stack, which
    // depends on this one.
    const partition = new DataAwsPartition(this, "partition").partition;
    const functionArn = `arn:${partition}:lambda:${config.region}:${this.accountId}:function:${name}`;
    allowFunctionPull(this, { repositoryName: repository.name, functionArn });

    // Buckets: names unique per account and region
    const suffix = `${this.accountId}-${config.region}`;
    const source = new PrivateBucket(this, "source-bucket", {
      bucketName: `${name}-source-${suffix}`,
      forceDestroy: config.forceDestroyBuckets,
      versioned: true,
    }).bucket;
    const destination = new PrivateBucket(this, "destination-bucket", {
      bucketName: `${name}-thumbnails-${suffix}`,
      forceDestroy: config.forceDestroyBuckets,
      versioned: false,
      expiring: {
        id: "expire-backfill-manifests-and-reports",
        prefix: BACKFILL_REPORT_PREFIX,
        days: BACKFILL_REPORT_RETENTION_DAYS,
      },
    }).bucket;

    // Log group and failure queue
    const { logGroup, failureQueue } = logsAndFailures(this, {
      functionName: name,
      logRetentionDays: config.logRetentionDays,
    });

    // Roles: the function's own, and the one backfill jobs run as
    const buckets = { sourceBucketArn: source.arn, destinationBucketArn: destination.arn };
    const execution = executionRole(this, {
      ...buckets,
      roleName: roleName(config, "lambda"),
      sourcePrefix: config.notificationPrefix,
      destinationPrefix: config.destinationPrefix,
      logGroupArn: logGroup.arn,
      failureQueueArn: failureQueue.arn,
    });
    this.backfillRoleArn = backfillRole(this, {
      ...buckets,
      roleName: roleName(config, "backfill"),
      accountId: this.accountId,
      functionArn,
      reportPrefix: BACKFILL_REPORT_PREFIX,
    }).arn;

    // GitHub Actions deploy role, when a repository is configured
    if (config.githubRepository !== undefined) {
      const deploy = deployRole(this, {
        ...buckets,
        roleName: roleName(config, "github-deploy"),
        githubRepository: config.githubRepository,
        oidcProviderArn: config.githubOidcProviderArn,
        ownerTags: ownerTag(config),
        repositoryArn: repository.arn,
        sourcePrefix: config.notificationPrefix,
        destinationPrefixes: config.destinationPrefixes,
      });
      this.deployRoleArn = deploy.arn;
      this.deployRoleName = deploy.name;
    }

    this.sourceBucketName = source.bucket;
    this.sourceBucketArn = source.arn;
    this.destinationBucketName = destination.bucket;
    this.destinationBucketArn = destination.arn;
    this.repositoryName = repository.name;
    this.repositoryUrl = repository.repositoryUrl;
    this.executionRoleArn = execution.arn;
    this.logGroupName = logGroup.name;
    this.failureQueueArn = failureQueue.arn;
    this.failureQueueName = failureQueue.name;
    this.failureQueueUrl = failureQueue.url;
  }
}
