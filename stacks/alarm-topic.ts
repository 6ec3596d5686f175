/**
 * The SNS topic CloudWatch alarms publish to: encrypted with its own KMS key, because CloudWatch
 * cannot use the AWS-managed SNS key (alias/aws/sns), whose policy no one can change to grant it.
 * Both the key and the topic let cloudwatch.amazonaws.com in for the named alarms of this
 * account only (aws:SourceAccount and aws:SourceArn: no confused deputy).
 */
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Construct } from "constructs";

export interface AlarmTopicProps {
  readonly topicName: string;
  readonly accountId: string;
  readonly region: string;
  /** The alarms that may publish (their names: the ARNs are built from them). */
  readonly alarmNames: readonly string[];
  readonly email: string;
}

/**
 * What the account's administrators may do with the key: manage it, not use it. Terraform needs
 * these to create, update and schedule the deletion of the key (the account root principal
 * delegates them to IAM, so they are still needed in the admin's own IAM policy).
 */
const KEY_ADMIN_ACTIONS = [
  "kms:CancelKeyDeletion",
  "kms:DescribeKey",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:EnableKey",
  "kms:EnableKeyRotation",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateKeyDescription",
];

export class AlarmTopic extends Construct {
  public readonly topicArn: string;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const partition = new DataAwsPartition(this, "partition").partition;
    const alarmArns = props.alarmNames.map(
      (name) => `arn:${partition}:cloudwatch:${props.region}:${props.accountId}:alarm:${name}`,
    );
    const fromTheseAlarms = [
      { test: "StringEquals", variable: "aws:SourceAccount", values: [props.accountId] },
      { test: "ArnLike", variable: "aws:SourceArn", values: alarmArns },
    ];
    const cloudWatch = [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }];

    // The key: rotated yearly; it protects only messages in flight, so 7 days' grace on deletion
    const key = new KmsKey(this, "key", {
      description: `Encrypts the alarm notifications of ${props.topicName}`,
      enableKeyRotation: true,
      deletionWindowInDays: 7,
      policy: new DataAwsIamPolicyDocument(this, "key-policy", {
        statement: [
          {
            sid: "AccountAdministratorsManageTheKey",
            principals: [
              { type: "AWS", identifiers: [`arn:${partition}:iam::${props.accountId}:root`] },
            ],
            actions: KEY_ADMIN_ACTIONS,
            resources: ["*"],
          },
          {
            // The grant AWS documents for services publishing to encrypted topics.
            sid: "CloudWatchAlarmsPublishEncrypted",
            principals: cloudWatch,
            actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
            resources: ["*"],
            condition: fromTheseAlarms,
          },
        ],
      }).json,
    });

    // The topic, its policy and the e-mail subscription
    const topic = new SnsTopic(this, "topic", {
      name: props.topicName,
      kmsMasterKeyId: key.arn,
    });
    // The addresses the topic and subscription had before they moved into this construct.
    topic.overrideLogicalId("alarm-topic");
    new SnsTopicPolicy(this, "topic-policy", {
      arn: topic.arn,
      policy: new DataAwsIamPolicyDocument(this, "topic-policy-document", {
        statement: [
          {
            sid: "CloudWatchAlarmsPublish",
            principals: cloudWatch,
            actions: ["sns:Publish"],
            resources: [topic.arn],
            condition: fromTheseAlarms,
          },
        ],
      }).json,
    });
    new SnsTopicSubscription(this, "email", {
      topicArn: topic.arn,
      protocol: "email",
      endpoint: props.email,
    }).overrideLogicalId("alarm-email");
    this.topicArn = topic.arn;
  }
}
