/**
 * The roles the function runs with and is run by: the execution role (what the handler does), and
 * the role S3 Batch Operations assumes for `thumbnailer backfill --batch` jobs. Resources are
 * created in the scope given (the stack itself), so their Terraform addresses never change.
 */
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { Construct } from "constructs";

/** Object ARN pattern for the keys under `prefix` ("" = the whole bucket). */
export const objects = (bucketArn: string, prefix: string) => `${bucketArn}/${prefix}*`;

export interface ExecutionRoleProps {
  readonly roleName: string;
  readonly sourceBucketArn: string;
  /** The keys the function is notified of ("" = all). */
  readonly sourcePrefix: string;
  readonly destinationBucketArn: string;
  /**
   * DEST_PREFIX: the function writes and deletes only under it. Not each rendition's prefix: this
   * policy is in the dependencies stack, applied before the Lambda stack changes RENDITIONS, so
   * a policy that followed the list would deny the running function its current prefixes
   * between the two applies (and, applied the other way round, the new ones).
   */
  readonly destinationPrefix: string;
  readonly logGroupArn: string;
  readonly failureQueueArn: string;
}

/** The execution role: trusted by Lambda only, allowed exactly what the handler does. */
export function executionRole(scope: Construct, props: ExecutionRoleProps): IamRole {
  // The role, and who may assume it
  const role = new IamRole(scope, "execution-role", {
    name: props.roleName,
    assumeRolePolicy: new DataAwsIamPolicyDocument(scope, "execution-trust", {
      statement: [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }],
        },
      ],
    }).json,
  });
  // What it may do
  new IamRolePolicy(scope, "execution-policy", {
    name: "thumbnailer",
    role: role.name,
    policy: new DataAwsIamPolicyDocument(scope, "execution-permissions", {
      statement: executionStatements(props),
    }).json,
  });
  return role;
}

function executionStatements(props: ExecutionRoleProps) {
  const { sourceBucketArn, destinationBucketArn } = props;
  return [
    {
      sid: "ReadAndTagSourceObjects",
      actions: ["s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging"],
      resources: [objects(sourceBucketArn, props.sourcePrefix)],
    },
    {
      sid: "WriteThumbnails",
      // GetObject also authorises HeadObject. Only under DEST_PREFIX (see its prop).
      actions: ["s3:PutObject", "s3:DeleteObject", "s3:GetObject"],
      resources: [objects(destinationBucketArn, props.destinationPrefix)],
    },
    {
      // Without ListBucket S3 answers 403 instead of 404 for a missing key, and the handler
      // could not tell "no thumbnail yet" or "source already deleted" from a real denial.
      sid: "TellMissingKeysApart",
      actions: ["s3:ListBucket"],
      resources: [sourceBucketArn, destinationBucketArn],
    },
    {
      sid: "WriteOwnLogs",
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [`${props.logGroupArn}:*`],
    },
    {
      sid: "SendFailedEvents",
      actions: ["sqs:SendMessage"],
      resources: [props.failureQueueArn],
    },
    {
      // X-Ray has no resource-level permissions: its actions only accept "*".
      sid: "Tracing",
      actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
      resources: ["*"],
    },
  ];
}

export interface BackfillRoleProps {
  readonly roleName: string;
  readonly accountId: string;
  /** The function's ARN (the function itself lives in the Lambda stack, which depends on this one). */
  readonly functionArn: string;
  readonly sourceBucketArn: string;
  readonly destinationBucketArn: string;
  /** Where jobs write their manifest and report, in the destination bucket. */
  readonly reportPrefix: string;
}

/**
 * The backfill role: trusted by S3 Batch Operations in this account only; invokes this function,
 * lists the source for the job's manifest, writes the manifest and report to their prefix.
 */
export function backfillRole(scope: Construct, props: BackfillRoleProps): IamRole {
  // The role, and who may assume it
  const role = new IamRole(scope, "backfill-role", {
    name: props.roleName,
    assumeRolePolicy: new DataAwsIamPolicyDocument(scope, "backfill-trust", {
      statement: [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["batchoperations.s3.amazonaws.com"] }],
          condition: [
            { test: "StringEquals", variable: "aws:SourceAccount", values: [props.accountId] },
          ],
        },
      ],
    }).json,
  });
  // What it may do
  new IamRolePolicy(scope, "backfill-policy", {
    name: "backfill",
    role: role.name,
    policy: new DataAwsIamPolicyDocument(scope, "backfill-permissions", {
      statement: [
        {
          sid: "InvokeThisFunction",
          actions: ["lambda:InvokeFunction"],
          resources: [props.functionArn],
        },
        {
          // The manifest generator lists the source; the function itself reads the objects.
          sid: "ListSourceForManifest",
          actions: ["s3:ListBucket"],
          resources: [props.sourceBucketArn],
        },
        {
          // ...through an S3 Inventory configuration it puts on the source.
          sid: "GenerateManifest",
          actions: ["s3:PutInventoryConfiguration"],
          resources: [props.sourceBucketArn],
        },
        {
          sid: "WriteManifestAndReport",
          actions: ["s3:PutObject", "s3:GetObject"],
          resources: [objects(props.destinationBucketArn, props.reportPrefix)],
        },
        {
          sid: "LocateReportBucket",
          actions: ["s3:GetBucketLocation"],
          resources: [props.destinationBucketArn],
        },
      ],
    }).json,
  });
  return role;
}
