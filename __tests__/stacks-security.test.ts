/**
 * Security rules checked over the synthesized Terraform JSON of both stacks, with every option on
 * (GitHub deploy role, alarm e-mail, filters), so every policy the product can create is covered.
 */
import { join } from "node:path";
import { smokeTestPlan } from "../ops/smoke-test";
import {
  BACKFILL_REPORT_PREFIX,
  BACKFILL_REPORT_RETENTION_DAYS,
} from "../stacks/dependencies-stack";
import { SMOKE_TEST_FOLDER } from "../stacks/deploy-role";
import {
  dataSources,
  resources,
  type SynthedInfra,
  synthInfra,
  type TerraformJson,
} from "./support/infra";

interface Statement {
  sid?: string;
  effect?: string;
  actions?: string[];
  not_actions?: string[];
  resources?: string[];
  principals?: { type: string; identifiers: string[] }[];
  condition?: { test: string; variable: string; values: string[] }[];
}

type Resource = Record<string, unknown>;

let infra: SynthedInfra;
let deps: TerraformJson;
let lambda: TerraformJson;

beforeAll(() => {
  infra = synthInfra({
    name: "thumbs-sec",
    githubRepository: "acme/thumbnailer",
    alarmEmail: "ops@example.com",
    notificationPrefix: "uploads/",
    notificationSuffix: ".png",
    destPrefix: "thumbs/",
  });
  deps = infra.stacks.dependencies.json;
  lambda = infra.stacks.lambda.json;
});
afterAll(() => infra.cleanup());

/** Replaces the Lambda stack's cross-stack references with the dependencies' expressions. */
function resolve(value: unknown): string {
  const text = String(value);
  return text.replace(
    /\$\{data\.terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)\}/g,
    (_, name: string) => String(deps.output?.[name]?.value ?? `<missing output ${name}>`),
  );
}

/** The statements of a policy document, by data source name. */
function statements(json: TerraformJson, name: string): Statement[] {
  const doc = dataSources(json, "aws_iam_policy_document")[name] as { statement?: Statement[] };
  if (doc?.statement === undefined) throw new Error(`no policy document ${name}`);
  return doc.statement;
}

function allStatements(): { doc: string; statement: Statement }[] {
  return [deps, lambda].flatMap((json) =>
    Object.entries(dataSources(json, "aws_iam_policy_document")).flatMap(([doc, body]) =>
      ((body as { statement?: Statement[] }).statement ?? []).map((statement) => ({
        doc,
        statement,
      })),
    ),
  );
}

/** Name of the one bucket resource whose name starts with `prefix`. */
function bucket(prefix: "source-bucket" | "destination-bucket"): string {
  const names = Object.keys(resources(deps, "aws_s3_bucket")).filter((n) => n.startsWith(prefix));
  if (names.length !== 1) throw new Error(`expected one ${prefix}, found ${names.length}`);
  return names[0] as string;
}
const arnOf = (prefix: "source-bucket" | "destination-bucket") =>
  `\${aws_s3_bucket.${bucket(prefix)}.arn}`;

/** Per-bucket resources of `type` whose `bucket` references the bucket resource `name`. */
function forBucket(type: string, name: string): Resource[] {
  return Object.values(resources(deps, type)).filter(
    (r) => r.bucket === `\${aws_s3_bucket.${name}.id}`,
  );
}

interface LifecycleRule {
  status: string;
  filter?: { prefix?: string }[];
  expiration?: { days?: number; date?: string; expired_object_delete_marker?: boolean }[];
  noncurrent_version_expiration?: { noncurrent_days: number }[];
}

/** The rules of the one lifecycle configuration of the bucket resource `name`. */
function lifecycleRules(name: string): LifecycleRule[] {
  const configurations = forBucket("aws_s3_bucket_lifecycle_configuration", name);
  expect(configurations).toHaveLength(1);
  return (configurations[0] as { rule: LifecycleRule[] }).rule;
}

/** A Terraform reference expression, "${expression}". */
const ref = (expression: string) => `\${${expression}}`;

const bucketNames = () => Object.keys(resources(deps, "aws_s3_bucket"));

/** Names of the policy documents used as KMS key policies, where Resource "*" means "this key". */
function keyPolicyDocs(): Set<string | undefined> {
  return new Set(
    [deps, lambda].flatMap((json) =>
      Object.values(resources(json, "aws_kms_key")).map(
        (key) =>
          /^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$/.exec(String(key.policy))?.[1],
      ),
    ),
  );
}

/** Wildcard actions AWS documents for a service principal's use of a key (SNS encrypted topics). */
const DOCUMENTED_WILDCARD_ACTIONS = new Set(["kms:GenerateDataKey*"]);

/** This deployment's alarms, as the ARNs in this account and region (cross-stack references resolved). */
function alarmArns(): string[] {
  const [partition] = Object.keys(dataSources(lambda, "aws_partition"));
  const account = ref("aws_ecr_repository.repository.registry_id");
  return Object.values(resources(lambda, "aws_cloudwatch_metric_alarm"))
    .map(
      (alarm) =>
        `arn:${ref(`data.aws_partition.${partition}.partition`)}:cloudwatch:us-east-1:${account}:alarm:${alarm.alarm_name}`,
    )
    .sort();
}

/** A statement with its cross-stack references resolved and its condition values sorted. */
function resolved(statement: Statement | undefined): Statement | undefined {
  if (statement === undefined) return undefined;
  const copy = JSON.parse(resolve(JSON.stringify(statement))) as Statement;
  for (const condition of copy.condition ?? []) condition.values.sort();
  return copy;
}

/** Actions that have no resource-level permissions in IAM, so "*" is their only resource. */
const RESOURCE_STAR_ONLY = new Set([
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
  "ecr:GetAuthorizationToken",
]);

const rules: [string, () => void][] = [
  [
    "every bucket has all four public-access blocks",
    () => {
      expect(bucketNames()).toHaveLength(2);
      for (const name of bucketNames()) {
        expect(forBucket("aws_s3_bucket_public_access_block", name)).toEqual([
          expect.objectContaining({
            block_public_acls: true,
            block_public_policy: true,
            ignore_public_acls: true,
            restrict_public_buckets: true,
          }),
        ]);
      }
    },
  ],
  [
    "every bucket has ACLs disabled (bucket owner enforced)",
    () => {
      for (const name of bucketNames()) {
        expect(forBucket("aws_s3_bucket_ownership_controls", name)).toEqual([
          expect.objectContaining({ rule: { object_ownership: "BucketOwnerEnforced" } }),
        ]);
      }
    },
  ],
  [
    "every bucket is encrypted at rest",
    () => {
      for (const name of bucketNames()) {
        const [sse] = forBucket("aws_s3_bucket_server_side_encryption_configuration", name) as {
          rule: { apply_server_side_encryption_by_default: { sse_algorithm: string } }[];
        }[];
        expect(["AES256", "aws:kms"]).toContain(
          sse?.rule[0]?.apply_server_side_encryption_by_default.sse_algorithm,
        );
      }
    },
  ],
  [
    "every bucket's policy denies requests made without TLS",
    () => {
      for (const name of bucketNames()) {
        const [policy] = forBucket("aws_s3_bucket_policy", name);
        const doc = /^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$/.exec(
          String(policy?.policy),
        )?.[1];
        const deny = statements(deps, doc ?? "<none>").find((s) => s.effect === "Deny");
        expect(deny).toMatchObject({
          actions: ["s3:*"],
          principals: [{ type: "*", identifiers: ["*"] }],
          resources: [`\${aws_s3_bucket.${name}.arn}`, `\${aws_s3_bucket.${name}.arn}/*`],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        });
      }
    },
  ],
  [
    "the source bucket is versioned and every bucket aborts incomplete multipart uploads",
    () => {
      expect(forBucket("aws_s3_bucket_versioning", bucket("source-bucket"))).toEqual([
        expect.objectContaining({ versioning_configuration: { status: "Enabled" } }),
      ]);
      for (const name of bucketNames()) {
        const [lifecycle] = forBucket("aws_s3_bucket_lifecycle_configuration", name) as {
          rule: {
            status: string;
            abort_incomplete_multipart_upload?: { days_after_initiation: number }[];
          }[];
        }[];
        const abort = lifecycle?.rule.find(
          (r) => r.abort_incomplete_multipart_upload !== undefined,
        );
        expect(abort?.status).toBe("Enabled");
      }
    },
  ],
  [
    "the source bucket removes a delete marker once the versions it hid have expired",
    () => {
      // Without it a deleted upload leaves its delete marker forever, and destroy's emptiness
      // check (scripts/destroy.sh) refuses a bucket that holds nothing else.
      const rules = lifecycleRules(bucket("source-bucket"));
      const [expiry] = rules.filter((r) => r.noncurrent_version_expiration !== undefined);
      expect(expiry).toMatchObject({
        status: "Enabled",
        filter: [{ prefix: "" }],
        noncurrent_version_expiration: [{ noncurrent_days: 30 }],
        // S3 refuses ExpiredObjectDeleteMarker beside Days or Date in one Expiration.
        expiration: [{ expired_object_delete_marker: true }],
      });
      expect(expiry?.expiration?.[0]).not.toHaveProperty("days");
      expect(expiry?.expiration?.[0]).not.toHaveProperty("date");
    },
  ],
  [
    `backfill manifests and reports expire after ${BACKFILL_REPORT_RETENTION_DAYS} days, and nothing else does`,
    () => {
      const expiring = (name: string) =>
        lifecycleRules(name).filter((r) => r.expiration?.some((e) => e.days !== undefined));
      expect(BACKFILL_REPORT_RETENTION_DAYS).toBeGreaterThan(0);
      expect(expiring(bucket("destination-bucket"))).toEqual([
        expect.objectContaining({
          status: "Enabled",
          filter: [{ prefix: BACKFILL_REPORT_PREFIX }],
          expiration: [{ days: BACKFILL_REPORT_RETENTION_DAYS }],
        }),
      ]);
      // Uploads and thumbnails are never expired by age.
      expect(expiring(bucket("source-bucket"))).toEqual([]);
    },
  ],
  [
    "no policy allows a wildcard action, and no managed *FullAccess policy is attached",
    () => {
      const allows = allStatements().filter(({ statement }) => statement.effect !== "Deny");
      expect(allows.length).toBeGreaterThan(10);
      for (const { doc, statement } of allows) {
        expect({ doc, not_actions: statement.not_actions }).toEqual({
          doc,
          not_actions: undefined,
        });
        for (const action of statement.actions ?? []) {
          if (DOCUMENTED_WILDCARD_ACTIONS.has(action) && keyPolicyDocs().has(doc)) continue;
          expect({ doc, action }).toEqual({ doc, action: expect.not.stringContaining("*") });
        }
      }
      for (const json of [deps, lambda]) {
        expect(resources(json, "aws_iam_role_policy_attachment")).toEqual({});
        for (const role of Object.values(resources(json, "aws_iam_role"))) {
          expect(role.managed_policy_arns).toBeUndefined();
        }
      }
    },
  ],
  [
    'only actions without resource-level permissions are allowed on Resource "*"',
    () => {
      for (const { doc, statement } of allStatements()) {
        if (statement.effect === "Deny" || !statement.resources?.includes("*")) continue;
        if (keyPolicyDocs().has(doc)) continue; // a key policy's "*" is the key itself
        for (const action of statement.actions ?? []) expect(RESOURCE_STAR_ONLY).toContain(action);
      }
    },
  ],
  [
    "the execution role is trusted by Lambda only",
    () => {
      expect(statements(deps, "execution-trust")).toEqual([
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }],
        },
      ]);
    },
  ],
  [
    "the execution role reads and tags only the source bucket and writes only the destination",
    () => {
      const source = arnOf("source-bucket");
      const destination = arnOf("destination-bucket");
      const s3 = statements(deps, "execution-permissions").filter((s) =>
        s.actions?.some((a) => a.startsWith("s3:")),
      );
      const resourcesFor = (action: string) =>
        s3.filter((s) => s.actions?.includes(action)).flatMap((s) => s.resources ?? []);
      // DEST_PREFIX as a whole, whatever the renditions: a per-rendition policy would lag the
      // function's RENDITIONS during a deploy (stacks/function-roles.ts, stacks-renditions.test.ts).
      expect(resourcesFor("s3:PutObject")).toEqual([`${destination}/thumbs/*`]);
      expect(resourcesFor("s3:DeleteObject")).toEqual([`${destination}/thumbs/*`]);
      expect(resourcesFor("s3:GetObjectTagging")).toEqual([`${source}/uploads/*`]);
      expect(resourcesFor("s3:PutObjectTagging")).toEqual([`${source}/uploads/*`]);
      expect(resourcesFor("s3:GetObject").sort()).toEqual(
        [`${destination}/thumbs/*`, `${source}/uploads/*`].sort(),
      );
      expect(resourcesFor("s3:ListBucket").sort()).toEqual([destination, source].sort());
      const allowed = [
        "s3:GetObject",
        "s3:GetObjectTagging",
        "s3:PutObjectTagging",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
      ];
      for (const action of s3.flatMap((s) => s.actions ?? [])) expect(allowed).toContain(action);
    },
  ],
  [
    "the execution role writes logs only to its own log group and sends only to its queue",
    () => {
      const byAction = (prefix: string) =>
        statements(deps, "execution-permissions").filter((s) =>
          s.actions?.some((a) => a.startsWith(prefix)),
        );
      expect(byAction("logs:")).toEqual([
        expect.objectContaining({
          resources: [`${ref("aws_cloudwatch_log_group.log-group.arn")}:*`],
        }),
      ]);
      expect(byAction("sqs:")).toEqual([
        expect.objectContaining({
          actions: ["sqs:SendMessage"],
          resources: [ref("aws_sqs_queue.failure-queue.arn")],
        }),
      ]);
    },
  ],
  [
    "the deploy role: main branch of one repository; pushes to its repository; updates its function",
    () => {
      const [trust] = statements(deps, "deploy-trust");
      expect(trust?.actions).toEqual(["sts:AssumeRoleWithWebIdentity"]);
      expect(trust?.condition).toContainEqual({
        test: "StringEquals",
        variable: "token.actions.githubusercontent.com:sub",
        values: ["repo:acme/thumbnailer:ref:refs/heads/main"],
      });
      const push = statements(deps, "deploy-permissions").filter((s) =>
        s.actions?.some((a) => a.startsWith("ecr:")),
      );
      for (const s of push) {
        expect(s.resources).toEqual(
          s.actions?.includes("ecr:GetAuthorizationToken")
            ? ["*"]
            : [ref("aws_ecr_repository.repository.arn")],
        );
      }
      const s3Writes = statements(deps, "deploy-permissions")
        .filter((s) => s.actions?.includes("s3:PutObject"))
        .flatMap((s) => s.resources ?? []);
      // Only the smoke test's own folder: a deploy role that may delete versions elsewhere could
      // permanently delete every original upload.
      expect(s3Writes).toEqual([`${arnOf("source-bucket")}/uploads/${SMOKE_TEST_FOLDER}*`]);
      const deletes = (action: string) =>
        statements(deps, "deploy-permissions")
          .filter((s) => s.actions?.includes(action))
          .flatMap((s) => s.resources ?? [])
          .sort();
      // The smoke test deletes its upload by version ID (the source bucket is versioned).
      expect(deletes("s3:DeleteObjectVersion")).toEqual([
        `${arnOf("source-bucket")}/uploads/${SMOKE_TEST_FOLDER}*`,
      ]);
      expect(deletes("s3:DeleteObject")).toEqual(
        [
          `${arnOf("source-bucket")}/uploads/${SMOKE_TEST_FOLDER}*`,
          `${arnOf("destination-bucket")}/thumbs/uploads/${SMOKE_TEST_FOLDER}*`,
        ].sort(),
      );
      // The smoke test reads the trigger's filter to upload a key it matches, nothing more.
      expect(
        statements(deps, "deploy-permissions").filter((s) =>
          s.actions?.includes("s3:GetBucketNotification"),
        ),
      ).toEqual([
        expect.objectContaining({
          actions: ["s3:GetBucketNotification"],
          resources: [arnOf("source-bucket")],
        }),
      ]);
      expect(statements(lambda, "deploy-function-permissions")).toEqual([
        expect.objectContaining({
          actions: [
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionCode",
          ],
          resources: [ref("aws_lambda_function.function.arn")],
        }),
      ]);
    },
  ],
  [
    "the backfill role is trusted by S3 Batch Operations only, from this account",
    () => {
      expect(statements(deps, "backfill-trust")).toEqual([
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["batchoperations.s3.amazonaws.com"] }],
          condition: [
            {
              test: "StringEquals",
              variable: "aws:SourceAccount",
              values: [ref("aws_ecr_repository.repository.registry_id")],
            },
          ],
        },
      ]);
    },
  ],
  [
    "the backfill role invokes only this function, lists only the source, writes only its report prefix",
    () => {
      const [partition] = Object.keys(dataSources(deps, "aws_partition"));
      const account = ref("aws_ecr_repository.repository.registry_id");
      const destination = arnOf("destination-bucket");
      expect(statements(deps, "backfill-permissions")).toEqual([
        expect.objectContaining({
          actions: ["lambda:InvokeFunction"],
          resources: [
            `arn:${ref(`data.aws_partition.${partition}.partition`)}:lambda:us-east-1:${account}:function:thumbs-sec`,
          ],
        }),
        expect.objectContaining({
          actions: ["s3:ListBucket"],
          resources: [arnOf("source-bucket")],
        }),
        // S3's manifest generator lists the source through an inventory configuration.
        expect.objectContaining({
          actions: ["s3:PutInventoryConfiguration"],
          resources: [arnOf("source-bucket")],
        }),
        expect.objectContaining({
          actions: ["s3:PutObject", "s3:GetObject"],
          resources: [`${destination}/thumbnailer-backfill/*`],
        }),
        expect.objectContaining({ actions: ["s3:GetBucketLocation"], resources: [destination] }),
      ]);
      // The function the role may invoke is the one the Lambda stack creates.
      const [fn] = Object.values(resources(lambda, "aws_lambda_function"));
      expect(fn?.function_name).toBe("thumbs-sec");
    },
  ],
  [
    "the deploy role can neither create S3 Batch Operations jobs nor pass a role",
    () => {
      const deployActions = [
        ...statements(deps, "deploy-permissions"),
        ...statements(lambda, "deploy-function-permissions"),
      ].flatMap((s) => s.actions ?? []);
      expect(deployActions.length).toBeGreaterThan(0);
      expect(
        deployActions.filter((a) => a.startsWith("iam:") || a.startsWith("s3:CreateJob")),
      ).toEqual([]);
    },
  ],
  [
    "S3 may invoke the function only from the source bucket, in this account",
    () => {
      const permissions = Object.values(resources(lambda, "aws_lambda_permission"));
      expect(permissions).toHaveLength(1);
      const [permission] = permissions;
      expect(permission).toMatchObject({
        action: "lambda:InvokeFunction",
        principal: "s3.amazonaws.com",
      });
      expect(resolve(permission?.source_arn)).toBe(arnOf("source-bucket"));
      expect(resolve(permission?.source_account)).toBe(
        ref("aws_ecr_repository.repository.registry_id"),
      );
    },
  ],
  [
    "the notification is on the source bucket, never the bucket thumbnails are written to",
    () => {
      const [notification] = Object.values(resources(lambda, "aws_s3_bucket_notification"));
      const [fn] = Object.values(resources(lambda, "aws_lambda_function")) as {
        environment: { variables: Record<string, string> };
      }[];
      const notified = resolve(notification?.bucket);
      const written = resolve(fn?.environment.variables.DEST_BUCKET);
      expect(notified).toBe(`\${aws_s3_bucket.${bucket("source-bucket")}.bucket}`);
      expect(written).toBe(`\${aws_s3_bucket.${bucket("destination-bucket")}.bucket}`);
      expect(notified).not.toBe(written);
    },
  ],
  [
    "failed asynchronous events go to the failure queue",
    () => {
      const [config] = Object.values(
        resources(lambda, "aws_lambda_function_event_invoke_config"),
      ) as {
        destination_config?: { on_failure?: { destination?: string } };
      }[];
      expect(resolve(config?.destination_config?.on_failure?.destination)).toBe(
        ref("aws_sqs_queue.failure-queue.arn"),
      );
    },
  ],
  [
    "the ECR repository has immutable tags, scan on push and encryption",
    () => {
      expect(Object.values(resources(deps, "aws_ecr_repository"))).toEqual([
        expect.objectContaining({
          image_tag_mutability: "IMMUTABLE",
          image_scanning_configuration: { scan_on_push: true },
          encryption_configuration: [{ encryption_type: "AES256" }],
        }),
      ]);
    },
  ],
  [
    "every log group has a retention period",
    () => {
      const groups = Object.values(resources(deps, "aws_cloudwatch_log_group"));
      expect(groups.length).toBeGreaterThan(0);
      for (const group of groups) expect(group.retention_in_days).toBeGreaterThan(0);
    },
  ],
  [
    "the failure queue and the alarm topic are encrypted",
    () => {
      for (const queue of Object.values(resources(deps, "aws_sqs_queue"))) {
        expect(
          queue.sqs_managed_sse_enabled === true || typeof queue.kms_master_key_id === "string",
        ).toBe(true);
      }
      const topics = Object.values(resources(lambda, "aws_sns_topic"));
      expect(topics).toHaveLength(1);
      for (const topic of topics) expect(topic.kms_master_key_id).toEqual(expect.any(String));
    },
  ],
  [
    "the alarm topic is encrypted with its own rotating KMS key, not the AWS-managed SNS key",
    () => {
      const [topic] = Object.values(resources(lambda, "aws_sns_topic"));
      const keys = Object.entries(resources(lambda, "aws_kms_key"));
      expect(keys).toHaveLength(1);
      const [keyName, key] = keys[0] as [string, Resource];
      expect(topic?.kms_master_key_id).toBe(ref(`aws_kms_key.${keyName}.arn`));
      expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 7 });
      expect(keyPolicyDocs().size).toBe(1);
    },
  ],
  [
    "CloudWatch may use the topic's key and publish to the topic only for this deployment's alarms",
    () => {
      const [docName] = [...keyPolicyDocs()];
      const [key] = statements(lambda, docName ?? "<none>").filter((s) =>
        s.principals?.some((p) => p.type === "Service"),
      );
      const scoped = [
        {
          test: "StringEquals",
          variable: "aws:SourceAccount",
          values: [ref("aws_ecr_repository.repository.registry_id")],
        },
        { test: "ArnLike", variable: "aws:SourceArn", values: alarmArns() },
      ];
      expect(alarmArns()).toHaveLength(4);
      expect(resolved(key)).toEqual(
        expect.objectContaining({
          principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
          condition: scoped,
        }),
      );
      const [topicPolicy] = Object.values(resources(lambda, "aws_sns_topic_policy"));
      expect(topicPolicy?.arn).toBe(ref("aws_sns_topic.alarm-topic.arn"));
      const topicDoc = /^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$/.exec(
        String(topicPolicy?.policy),
      )?.[1];
      expect(statements(lambda, topicDoc ?? "<none>").map(resolved)).toEqual([
        expect.objectContaining({
          principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
          actions: ["sns:Publish"],
          resources: [ref("aws_sns_topic.alarm-topic.arn")],
          condition: scoped,
        }),
      ]);
    },
  ],
  [
    "only the account's administrators manage the topic's key, and they cannot use it to read",
    () => {
      const [docName] = [...keyPolicyDocs()];
      const admin = statements(lambda, docName ?? "<none>").filter((s) =>
        s.principals?.some((p) => p.type === "AWS"),
      );
      expect(admin).toHaveLength(1);
      expect(admin[0]?.actions).toEqual(expect.arrayContaining(["kms:PutKeyPolicy"]));
      expect(admin[0]?.actions).not.toContain("kms:Decrypt");
    },
  ],
  [
    "Lambda may pull from the repository only for this deployment's function, in this account",
    () => {
      const policies = Object.values(resources(deps, "aws_ecr_repository_policy"));
      expect(policies).toHaveLength(1);
      const [policy] = policies;
      expect(policy?.repository).toBe(ref("aws_ecr_repository.repository.name"));
      const doc = /^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$/.exec(
        String(policy?.policy),
      )?.[1];
      const [partition] = Object.keys(dataSources(deps, "aws_partition"));
      const fn = `arn:${ref(`data.aws_partition.${partition}.partition`)}:lambda:us-east-1:${ref("aws_ecr_repository.repository.registry_id")}:function:thumbs-sec`;
      expect(statements(deps, doc ?? "<none>")).toEqual([
        expect.objectContaining({
          principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }],
          actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
          condition: [{ test: "StringLike", variable: "aws:sourceArn", values: [fn, `${fn}:*`] }],
        }),
      ]);
    },
  ],
];

describe("security rules over the synthesized stacks", () => {
  it.each(rules)("%s", (_rule, check) => {
    check();
  });
});

describe("the smoke test's keys", () => {
  it("are inside the deploy role's rights: its upload, and each output the function makes of it", async () => {
    // Arrange: the function's environment and its trigger as synthesized (buckets named)
    const arn = "arn:aws:lambda:eu-west-1:123456789012:function:thumbs-sec";
    const [fn] = Object.values(resources(lambda, "aws_lambda_function")) as {
      environment: { variables: Record<string, string> };
    }[];
    const [notification] = Object.values(resources(lambda, "aws_s3_bucket_notification")) as {
      lambda_function: { filter_prefix?: string; filter_suffix?: string }[];
    }[];
    const trigger = notification?.lambda_function[0];
    const rules = [
      { Name: "prefix" as const, Value: trigger?.filter_prefix },
      { Name: "suffix" as const, Value: trigger?.filter_suffix },
    ].filter((rule) => rule.Value !== undefined);
    const variables = { ...fn?.environment.variables, SOURCE_BUCKET: "src", DEST_BUCKET: "dst" };

    // Act
    const plan = await smokeTestPlan(
      { FunctionArn: arn, Environment: { Variables: variables } },
      {
        LambdaFunctionConfigurations: [
          {
            LambdaFunctionArn: arn,
            Events: ["s3:ObjectCreated:*"],
            Filter: { Key: { FilterRules: rules } },
          },
        ],
      },
      join(__dirname, "..", "scripts", "fixtures", "smoke-test.jpg"),
      "run-1",
    );

    // Assert: each key the smoke test writes or deletes is under a resource of that action
    const allowed = (action: string, bucketArn: string, key: string) =>
      statements(deps, "deploy-permissions")
        .filter((s) => s.actions?.includes(action))
        .flatMap((s) => s.resources ?? [])
        .some((pattern) => `${bucketArn}/${key}`.startsWith(pattern.replace(/\*$/, "")));
    expect(plan.upload.key).toBe(`uploads/${SMOKE_TEST_FOLDER}run-1.png`);
    for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]) {
      expect([action, allowed(action, arnOf("source-bucket"), plan.upload.key)]).toEqual([
        action,
        true,
      ]);
    }
    expect(plan.expected.map((e) => e.key)).toEqual([
      `thumbs/uploads/${SMOKE_TEST_FOLDER}run-1.png`,
    ]);
    for (const { key } of plan.expected) {
      for (const action of ["s3:GetObject", "s3:DeleteObject"]) {
        expect([action, allowed(action, arnOf("destination-bucket"), key)]).toEqual([action, true]);
      }
    }
  });
});
