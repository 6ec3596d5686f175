/**
 * Everything the function needs before it can exist: buckets, image repository, execution role,
 * log group, failure queue, the S3 Batch Operations role for backfills, and the GitHub Actions
 * deploy role. The Lambda stack reads the plain
 * values below through cross-stack references.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { EcrRepositoryPolicy } from "@cdktf/provider-aws/lib/ecr-repository-policy";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { PrivateBucket } from "./private-bucket";
import { configureStack, ownerTag, roleName, type StackBaseProps } from "./stack-base";

export type DependenciesStackProps = StackBaseProps;

const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/**
 * Where S3 Batch Operations backfill jobs write their manifest and completion report: in the
 * destination bucket, which notifies nothing, at its root, outside DEST_PREFIX (with the default
 * empty DEST_PREFIX, only a source key starting with it could have its thumbnail land here).
 */
export const BACKFILL_REPORT_PREFIX = "thumbnailer-backfill/";

/** Object ARN pattern for the keys under `prefix` ("" = the whole bucket). */
const objects = (bucketArn: string, prefix: string) => `${bucketArn}/${prefix}*`;

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
    const destPrefix = config.handlerEnvironment.DEST_PREFIX ?? "";

    // Image repository: immutable tags, scanned on push; destroy deletes it with its images
    const repository = new EcrRepository(this, "repository", {
      name,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: "AES256" }],
      forceDelete: true,
    });
    // Expiry: never the image the function runs or the one before it (the rollout tags them,
    // scripts/tag-deployed.sh); of the rest, the newest keepImages stay. An image a rule with a
    // lower rulePriority selects is never expired by a later rule, and only one image at a time
    // carries each protected tag, so the first two rules never expire anything.
    const protectedTag = (rulePriority: number, tag: string) => ({
      rulePriority,
      description: `Never expire the image tagged ${tag}`,
      selection: {
        tagStatus: "tagged",
        tagPatternList: [tag],
        countType: "imageCountMoreThan",
        countNumber: 1,
      },
      action: { type: "expire" },
    });
    new EcrLifecyclePolicy(this, "repository-lifecycle", {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [
          protectedTag(1, "deployed"),
          protectedTag(2, "previous"),
          {
            rulePriority: 3,
            description: `Keep the last ${config.keepImages} images`,
            selection: {
              tagStatus: "any",
              countType: "imageCountMoreThan",
              countNumber: config.keepImages,
            },
            action: { type: "expire" },
          },
        ],
      }),
    });
    // A repository's registry ID is the account ID: no STS call needed to learn it.
    this.accountId = repository.registryId;
    // Lambda pulls the image with this policy. Declared here, it does not depend on the statement
    // Lambda adds when a function is created with the admin's rights: CI's deploy role, which may
    // not set repository policies, can always update the function.
    const partition = new DataAwsPartition(this, "partition").partition;
    const functionArn = `arn:${partition}:lambda:${config.region}:${this.accountId}:function:${name}`;
    new EcrRepositoryPolicy(this, "repository-policy", {
      repository: repository.name,
      policy: new DataAwsIamPolicyDocument(this, "repository-permissions", {
        statement: [
          {
            sid: "LambdaECRImageRetrievalPolicy",
            principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }],
            actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            condition: [
              {
                test: "StringLike",
                variable: "aws:sourceArn",
                values: [functionArn, `${functionArn}:*`],
              },
            ],
          },
        ],
      }).json,
    });

    // Buckets: names unique per account and region
    const suffix = `${this.accountId}-${config.region}`;
    const source = new PrivateBucket(this, "source-bucket", {
      bucketName: `${name}-source-${suffix}`,
      forceDestroy: config.forceDestroyBuckets,
      versioned: true,
    });
    const destination = new PrivateBucket(this, "destination-bucket", {
      bucketName: `${name}-thumbnails-${suffix}`,
      forceDestroy: config.forceDestroyBuckets,
      versioned: false,
    });

    // Log group with retention (the function's default group name, created before the function)
    const logGroup = new CloudwatchLogGroup(this, "log-group", {
      name: `/aws/lambda/${name}`,
      retentionInDays: config.logRetentionDays,
    });

    // Failure queue: asynchronous invocations that exhausted their retries land here
    const failureQueue = new SqsQueue(this, "failure-queue", {
      name: `${name}-failures`,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: 1209600,
    });

    // Execution role: trusted by Lambda only, allowed exactly what the handler does
    const executionRole = new IamRole(this, "execution-role", {
      name: roleName(config, "lambda"),
      assumeRolePolicy: new DataAwsIamPolicyDocument(this, "execution-trust", {
        statement: [
          {
            actions: ["sts:AssumeRole"],
            principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }],
          },
        ],
      }).json,
    });
    const sourceArn = source.bucket.arn;
    const destinationArn = destination.bucket.arn;
    const sourcePrefix = config.notificationPrefix;
    new IamRolePolicy(this, "execution-policy", {
      name: "thumbnailer",
      role: executionRole.name,
      policy: new DataAwsIamPolicyDocument(this, "execution-permissions", {
        statement: [
          {
            sid: "ReadAndTagSourceObjects",
            actions: ["s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging"],
            resources: [objects(sourceArn, sourcePrefix)],
          },
          {
            sid: "WriteThumbnails",
            // GetObject also authorises HeadObject. Only under the renditions' prefixes.
            actions: ["s3:PutObject", "s3:DeleteObject", "s3:GetObject"],
            resources: config.destinationPrefixes.map((prefix) => objects(destinationArn, prefix)),
          },
          {
            // Without ListBucket S3 answers 403 instead of 404 for a missing key, and the handler
            // could not tell "no thumbnail yet" or "source already deleted" from a real denial.
            sid: "TellMissingKeysApart",
            actions: ["s3:ListBucket"],
            resources: [sourceArn, destinationArn],
          },
          {
            sid: "WriteOwnLogs",
            actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
            resources: [`${logGroup.arn}:*`],
          },
          {
            sid: "SendFailedEvents",
            actions: ["sqs:SendMessage"],
            resources: [failureQueue.arn],
          },
          {
            // X-Ray has no resource-level permissions: its actions only accept "*".
            sid: "Tracing",
            actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            resources: ["*"],
          },
        ],
      }).json,
    });

    // Backfill role: trusted by S3 Batch Operations in this account only; invokes this function,
    // lists the source for the job's manifest, writes the manifest and report to their prefix.
    // (functionArn: built above, as the function is in the Lambda stack, which depends on this one.)
    const backfillRole = new IamRole(this, "backfill-role", {
      name: roleName(config, "backfill"),
      assumeRolePolicy: new DataAwsIamPolicyDocument(this, "backfill-trust", {
        statement: [
          {
            actions: ["sts:AssumeRole"],
            principals: [{ type: "Service", identifiers: ["batchoperations.s3.amazonaws.com"] }],
            condition: [
              { test: "StringEquals", variable: "aws:SourceAccount", values: [this.accountId] },
            ],
          },
        ],
      }).json,
    });
    new IamRolePolicy(this, "backfill-policy", {
      name: "backfill",
      role: backfillRole.name,
      policy: new DataAwsIamPolicyDocument(this, "backfill-permissions", {
        statement: [
          {
            sid: "InvokeThisFunction",
            actions: ["lambda:InvokeFunction"],
            resources: [functionArn],
          },
          {
            // The manifest generator lists the source; the function itself reads the objects.
            sid: "ListSourceForManifest",
            actions: ["s3:ListBucket"],
            resources: [sourceArn],
          },
          {
            sid: "WriteManifestAndReport",
            actions: ["s3:PutObject", "s3:GetObject"],
            resources: [objects(destinationArn, BACKFILL_REPORT_PREFIX)],
          },
          {
            sid: "LocateReportBucket",
            actions: ["s3:GetBucketLocation"],
            resources: [destinationArn],
          },
        ],
      }).json,
    });
    this.backfillRoleArn = backfillRole.arn;

    // GitHub Actions deploy role: only this repository's main branch, only this deployment
    if (config.githubRepository !== undefined) {
      const providerArn =
        config.githubOidcProviderArn ??
        new IamOpenidConnectProvider(this, "github-oidc", {
          url: `https://${GITHUB_OIDC_HOST}`,
          clientIdList: ["sts.amazonaws.com"],
          tags: ownerTag(config),
        }).arn;
      const deployRole = new IamRole(this, "deploy-role", {
        name: roleName(config, "github-deploy"),
        maxSessionDuration: 3600,
        assumeRolePolicy: new DataAwsIamPolicyDocument(this, "deploy-trust", {
          statement: [
            {
              actions: ["sts:AssumeRoleWithWebIdentity"],
              principals: [{ type: "Federated", identifiers: [providerArn] }],
              condition: [
                {
                  test: "StringEquals",
                  variable: `${GITHUB_OIDC_HOST}:aud`,
                  values: ["sts.amazonaws.com"],
                },
                {
                  test: "StringEquals",
                  variable: `${GITHUB_OIDC_HOST}:sub`,
                  values: [`repo:${config.githubRepository}:ref:refs/heads/main`],
                },
              ],
            },
          ],
        }).json,
      });
      // Push images to this repository; the function permissions live in the Lambda stack.
      new IamRolePolicy(this, "deploy-policy", {
        name: "push-image-and-smoke-test",
        role: deployRole.name,
        policy: new DataAwsIamPolicyDocument(this, "deploy-permissions", {
          statement: [
            {
              // Registry login: GetAuthorizationToken has no resource-level permissions.
              sid: "RegistryLogin",
              actions: ["ecr:GetAuthorizationToken"],
              resources: ["*"],
            },
            {
              sid: "PushImages",
              actions: [
                "ecr:BatchCheckLayerAvailability",
                // Moving the deployed/previous tags (tags are immutable: removed, then put).
                "ecr:BatchDeleteImage",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeImages",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
              ],
              resources: [repository.arn],
            },
            {
              // The smoke test deletes its upload by version ID: no delete marker left behind.
              sid: "SmokeTestUpload",
              actions: ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
              resources: [objects(sourceArn, sourcePrefix)],
            },
            {
              sid: "SmokeTestReadThumbnail",
              actions: ["s3:GetObject", "s3:DeleteObject"],
              resources: [objects(destinationArn, destPrefix)],
            },
            {
              sid: "SmokeTestWaitForThumbnail",
              actions: ["s3:ListBucket"],
              resources: [destinationArn],
            },
          ],
        }).json,
      });
      this.deployRoleArn = deployRole.arn;
      this.deployRoleName = deployRole.name;
    }

    this.sourceBucketName = source.bucket.bucket;
    this.sourceBucketArn = sourceArn;
    this.destinationBucketName = destination.bucket.bucket;
    this.destinationBucketArn = destinationArn;
    this.repositoryName = repository.name;
    this.repositoryUrl = repository.repositoryUrl;
    this.executionRoleArn = executionRole.arn;
    this.logGroupName = logGroup.name;
    this.failureQueueArn = failureQueue.arn;
    this.failureQueueName = failureQueue.name;
    this.failureQueueUrl = failureQueue.url;
  }
}
