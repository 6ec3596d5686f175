/** An S3 bucket that is private, encrypted and TLS-only by construction. */
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Construct } from "constructs";

export interface PrivateBucketProps {
  readonly bucketName: string;
  /** Let destroy delete the bucket while it still holds objects. */
  readonly forceDestroy: boolean;
  /** Keep previous versions of overwritten or deleted objects (expired after 30 days). */
  readonly versioned: boolean;
  /** Objects under `prefix` are deleted `days` after they were written (rule `id`). */
  readonly expiring?: { readonly id: string; readonly prefix: string; readonly days: number };
}

/**
 * The lifecycle rules: incomplete multipart uploads are aborted after 7 days; in a versioned
 * bucket a previous version expires 30 days after it stopped being current, and a delete marker
 * left with no version behind it is removed (S3 accepts ExpiredObjectDeleteMarker only without
 * Days or Date, so that Expiration expires nothing current); objects under `expiring.prefix`
 * expire after its days.
 */
function lifecycleRules(props: PrivateBucketProps): S3BucketLifecycleConfigurationRule[] {
  const rules: S3BucketLifecycleConfigurationRule[] = [
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: [{ prefix: "" }],
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
    },
  ];
  if (props.versioned) {
    rules.push({
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: [{ prefix: "" }],
      noncurrentVersionExpiration: [{ noncurrentDays: 30 }],
      expiration: [{ expiredObjectDeleteMarker: true }],
    });
  }
  if (props.expiring !== undefined) {
    const { id, prefix, days } = props.expiring;
    rules.push({ id, status: "Enabled", filter: [{ prefix }], expiration: [{ days }] });
  }
  return rules;
}

export class PrivateBucket extends Construct {
  public readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, props: PrivateBucketProps) {
    super(scope, id);

    // The bucket
    this.bucket = new S3Bucket(this, "bucket", {
      bucket: props.bucketName,
      forceDestroy: props.forceDestroy,
    });
    const bucket = this.bucket.id;

    // No public access, whatever an ACL or policy says
    const publicAccess = new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });

    // ACLs disabled: the bucket owner owns every object
    new S3BucketOwnershipControls(this, "ownership", {
      bucket,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });

    // Encryption at rest (SSE-S3: no KMS key to pay for or to grant)
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });

    // Versioning
    if (props.versioned) {
      new S3BucketVersioningA(this, "versioning", {
        bucket,
        versioningConfiguration: { status: "Enabled" },
      });
    }

    // Lifecycle: nothing bills forever (see lifecycleRules)
    new S3BucketLifecycleConfiguration(this, "lifecycle", { bucket, rule: lifecycleRules(props) });

    // TLS only: deny every request made without HTTPS
    const tlsOnly = new DataAwsIamPolicyDocument(this, "tls-only", {
      statement: [
        {
          sid: "DenyInsecureTransport",
          effect: "Deny",
          principals: [{ type: "*", identifiers: ["*"] }],
          actions: ["s3:*"],
          resources: [this.bucket.arn, `${this.bucket.arn}/*`],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        },
      ],
    });
    new S3BucketPolicy(this, "policy", {
      bucket,
      policy: tlsOnly.json,
      // S3 rejects policy changes while the public access block is being applied.
      dependsOn: [publicAccess],
    });
  }
}
