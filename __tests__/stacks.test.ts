/**
 * The two stacks as `cdktf synth` writes them (app.synth(), cross-stack wiring included):
 * a scrubbed snapshot of each, and assertions that state what the snapshot is meant to hold.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import "cdktf/lib/testing/adapters/jest"; // types of cdktf's matchers (setup.js registers them)
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsEcrImage } from "@cdktf/provider-aws/lib/data-aws-ecr-image";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { DataResource } from "cdktf";
import {
  only,
  PROJECT_ROOT,
  resources,
  rolloutScript,
  type SynthedInfra,
  scrubbed,
  synthInfra,
} from "./support/infra";

/** Every optional feature switched on. */
const FULL_CONTEXT = {
  region: "eu-west-1",
  name: "thumbs-prod",
  architecture: "arm64",
  memoryMb: 2048,
  timeoutSeconds: 120,
  reservedConcurrency: 10,
  githubRepository: "acme/thumbnailer",
  notificationPrefix: "uploads/",
  notificationSuffix: ".jpg",
  alarmEmail: "ops@example.com",
  forceDestroyBuckets: true,
  destPrefix: "thumbs/",
  thumbWidth: 128,
};

describe("synthesized stacks, default configuration", () => {
  let infra: SynthedInfra;
  beforeAll(() => {
    infra = synthInfra();
  });
  afterAll(() => infra.cleanup());

  it.each(["dependencies", "lambda"] as const)("matches the %s stack snapshot", (stack) => {
    expect(scrubbed(infra, infra.stacks[stack])).toMatchSnapshot();
  });

  it("creates private source and destination buckets, never force-destroyed by default", () => {
    const { text, json } = infra.stacks.dependencies;
    expect(Object.keys(resources(json, "aws_s3_bucket"))).toHaveLength(2);
    expect(text).toHaveResourceWithProperties(S3Bucket, {
      bucket: expect.stringMatching(/^thumbnailer-source-\$\{.*registry_id\}-us-east-1$/),
      force_destroy: false,
    });
    expect(text).toHaveResourceWithProperties(S3Bucket, {
      bucket: expect.stringMatching(/^thumbnailer-thumbnails-\$\{.*registry_id\}-us-east-1$/),
      force_destroy: false,
    });
  });

  it("makes an immutable, scanned, force-deletable ECR repository", () => {
    expect(infra.stacks.dependencies.text).toHaveResourceWithProperties(EcrRepository, {
      name: "thumbnailer",
      image_tag_mutability: "IMMUTABLE",
      image_scanning_configuration: { scan_on_push: true },
      force_delete: true,
    });
  });

  it("keeps the function's logs for 30 days in its own log group", () => {
    expect(infra.stacks.dependencies.text).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: "/aws/lambda/thumbnailer",
      retention_in_days: 30,
    });
  });

  it("creates no GitHub deploy role when no repository is configured", () => {
    const { text } = infra.stacks.dependencies;
    expect(text).not.toHaveResource(IamOpenidConnectProvider);
    expect(Object.keys(resources(infra.stacks.dependencies.json, "aws_iam_role"))).toEqual([
      "backfill-role",
      "execution-role",
    ]);
  });

  it("outputs what `thumbnailer backfill --batch` reads: function, role, source prefix and suffix, report prefix", () => {
    const outputs = infra.stacks.lambda.json.output ?? {};
    expect(outputs["function-arn"]?.value).toBe(`\${aws_lambda_function.function.arn}`);
    expect(outputs["backfill-role-arn"]?.value).toMatch(
      /^\$\{data\.terraform_remote_state\.[\w-]+\.outputs\.[\w-]+\}$/,
    );
    expect(outputs["backfill-report-prefix"]?.value).toBe("thumbnailer-backfill/");
    expect(outputs["source-prefix"]?.value).toBe("");
    expect(outputs["source-suffix"]?.value).toBe("");
  });

  it("runs a container image pinned by digest, sized for sharp, traced", () => {
    expect(infra.stacks.lambda.text).toHaveResourceWithProperties(LambdaFunction, {
      function_name: "thumbnailer",
      package_type: "Image",
      image_uri: expect.stringMatching(
        /repository_url\}@\$\{data\.aws_ecr_image\.deployed-image\.image_digest\}$/,
      ),
      architectures: ["x86_64"],
      memory_size: 1536,
      timeout: 60,
      tracing_config: { mode: "Active" },
    });
    const fn = only(infra.stacks.lambda.json, "aws_lambda_function");
    expect(fn.reserved_concurrent_executions).toBeUndefined();
  });

  it("builds and rolls out the image when its inputs change, then creates the function from it", () => {
    const { text, json } = infra.stacks.lambda;
    const hash = infra.imageInputsHash;
    const tag = `x86_64-${hash.slice(0, 16)}`;
    expect(text).toHaveResourceWithProperties(DataResource, {
      triggers_replace: expect.objectContaining({ inputs: hash, tag, platform: "linux/amd64" }),
    });
    const build = only(json, "terraform_data") as {
      provisioner: { "local-exec": { command: string; environment: Record<string, string> } }[];
    };
    const exec = build.provisioner[0]?.["local-exec"];
    const rollout = readFileSync(join(PROJECT_ROOT, rolloutScript(exec?.command ?? "")), "utf8");
    expect(rollout).toContain('bash "$ROOT/scripts/push-image.sh"');
    expect(exec?.environment).toMatchObject({
      TAG: tag,
      INPUTS_HASH: hash,
      // what scripts/check-rollout.sh refuses uncommitted
      IMAGE_INPUTS: infra.imageInputs.join("\n"),
      PLATFORM: "linux/amd64",
      FUNCTION_NAME: "thumbnailer",
    });
    expect(text).toHaveDataSourceWithProperties(DataAwsEcrImage, {
      image_tag: "deployed",
      depends_on: ["terraform_data.image-build"],
    });
  });

  it("leaves image and architecture to the rollout after creation (never reverts CI's image)", () => {
    expect(infra.stacks.lambda.text).toHaveResourceWithProperties(LambdaFunction, {
      lifecycle: { ignore_changes: ["image_uri", "architectures"] },
    });
  });

  it("retries asynchronous events twice, keeps them up to 6 hours, then sends them to the queue", () => {
    expect(infra.stacks.lambda.text).toHaveResourceWithProperties(LambdaFunctionEventInvokeConfig, {
      maximum_retry_attempts: 2,
      maximum_event_age_in_seconds: 21600,
      destination_config: {
        on_failure: { destination: expect.stringContaining("aws_sqs_queuefailure-queuearn") },
      },
    });
  });

  it("subscribes to created and removed objects after the invoke permission exists", () => {
    expect(infra.stacks.lambda.text).toHaveResourceWithProperties(S3BucketNotification, {
      lambda_function: [
        expect.objectContaining({ events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"] }),
      ],
      depends_on: ["aws_lambda_permission.allow-s3-invoke"],
    });
  });

  it("alarms on errors, throttles, dropped events and failure-queue depth, without actions", () => {
    const alarms = Object.values(
      resources(infra.stacks.lambda.json, "aws_cloudwatch_metric_alarm"),
    );
    expect(alarms.map((a) => a.metric_name).sort()).toEqual([
      "ApproximateNumberOfMessagesVisible",
      "AsyncEventsDropped",
      "Errors",
      "Throttles",
    ]);
    for (const alarm of alarms) expect(alarm.alarm_actions).toBeUndefined();
    expect(infra.stacks.lambda.text).not.toHaveResource(SnsTopicSubscription);
  });

  it("tags every resource through the provider's default tags, in both stacks", () => {
    for (const stack of [infra.stacks.dependencies, infra.stacks.lambda]) {
      expect(stack.json.provider).toEqual({
        aws: [
          {
            region: "us-east-1",
            default_tags: [
              { tags: { Project: "thumbnailer", Deployment: "thumbnailer", ManagedBy: "cdktf" } },
            ],
          },
        ],
      });
    }
  });

  it("keeps local state per deployment (name and region) and stack, and reads the dependencies' outputs from it", () => {
    const terraform = (stack: typeof infra.stacks.lambda) =>
      stack.json.terraform as { backend: Record<string, { path: string }> };
    expect(terraform(infra.stacks.dependencies).backend.local?.path).toMatch(
      /\/terraform\.thumbnailer-us-east-1-dependencies\.tfstate$/,
    );
    expect(terraform(infra.stacks.lambda).backend.local?.path).toMatch(
      /\/terraform\.thumbnailer-us-east-1-lambda\.tfstate$/,
    );
    expect(infra.stacks.lambda.json.data?.terraform_remote_state).toEqual({
      "cross-stack-reference-input-dependencies": expect.objectContaining({
        backend: "local",
        config: { path: terraform(infra.stacks.dependencies).backend.local?.path },
      }),
    });
  });
});

describe("synthesized stacks, every option on", () => {
  let infra: SynthedInfra;
  beforeAll(() => {
    infra = synthInfra(FULL_CONTEXT, { THUMBNAILER_STATE_BUCKET: "acme-terraform-state" });
  });
  afterAll(() => infra.cleanup());

  it.each(["dependencies", "lambda"] as const)("matches the %s stack snapshot", (stack) => {
    expect(scrubbed(infra, infra.stacks[stack])).toMatchSnapshot();
  });

  it("passes the configuration to the function", () => {
    expect(infra.stacks.lambda.text).toHaveResourceWithProperties(LambdaFunction, {
      function_name: "thumbs-prod",
      architectures: ["arm64"],
      memory_size: 2048,
      timeout: 120,
      reserved_concurrent_executions: 10,
      environment: {
        variables: {
          DEST_BUCKET: expect.stringContaining("destination-bucket"),
          SOURCE_BUCKET: expect.stringContaining("source-bucket"),
          SOURCE_PREFIX: "uploads/",
          DEST_PREFIX: "thumbs/",
          THUMB_WIDTH: "128",
        },
      },
    });
    const build = only(infra.stacks.lambda.json, "terraform_data") as {
      provisioner: { "local-exec": { environment: Record<string, string> } }[];
    };
    expect(build.provisioner[0]?.["local-exec"].environment).toMatchObject({
      PLATFORM: "linux/arm64",
      ARCHITECTURE: "arm64",
    });
  });

  it("filters notifications by prefix and suffix", () => {
    expect(infra.stacks.lambda.text).toHaveResourceWithProperties(S3BucketNotification, {
      lambda_function: [
        expect.objectContaining({ filter_prefix: "uploads/", filter_suffix: ".jpg" }),
      ],
    });
  });

  it("lets only the configured repository's main branch assume the deploy role", () => {
    const { text, json } = infra.stacks.dependencies;
    expect(text).toHaveResourceWithProperties(IamOpenidConnectProvider, {
      url: "https://token.actions.githubusercontent.com",
      client_id_list: ["sts.amazonaws.com"],
    });
    expect(text).toHaveResourceWithProperties(IamRole, {
      name: "thumbs-prod-eu-west-1-github-deploy",
    });
    const trust = json.data?.aws_iam_policy_document?.["deploy-trust"] as {
      statement: { condition: { variable: string; values: string[] }[] }[];
    };
    expect(trust.statement[0]?.condition).toEqual([
      expect.objectContaining({
        variable: "token.actions.githubusercontent.com:aud",
        values: ["sts.amazonaws.com"],
      }),
      expect.objectContaining({
        variable: "token.actions.githubusercontent.com:sub",
        values: ["repo:acme/thumbnailer:ref:refs/heads/main"],
      }),
    ]);
  });

  it("reuses an existing OIDC provider when one is configured", () => {
    const arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
    const reused = synthInfra({ ...FULL_CONTEXT, githubOidcProviderArn: arn });
    try {
      expect(reused.stacks.dependencies.text).not.toHaveResource(IamOpenidConnectProvider);
      expect(reused.stacks.dependencies.text).toContain(`"${arn}"`);
    } finally {
      reused.cleanup();
    }
  });

  it("sends alarms to an encrypted SNS topic with an e-mail subscription", () => {
    const { text, json } = infra.stacks.lambda;
    expect(text).toHaveResourceWithProperties(SnsTopicSubscription, {
      protocol: "email",
      endpoint: "ops@example.com",
    });
    for (const alarm of Object.values(resources(json, "aws_cloudwatch_metric_alarm"))) {
      expect(alarm.alarm_actions).toEqual([
        expect.stringContaining("aws_sns_topic.alarm-topic.arn"),
      ]);
    }
    expect(text).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      alarm_name: "thumbs-prod-dropped-events",
      metric_name: "AsyncEventsDropped",
    });
  });

  it("lets teardown empty the buckets when forceDestroyBuckets is on", () => {
    for (const bucket of Object.values(
      resources(infra.stacks.dependencies.json, "aws_s3_bucket"),
    )) {
      expect(bucket.force_destroy).toBe(true);
    }
  });

  it("keeps remote state in S3 with a lock file, one key per deployment (name and region) and stack", () => {
    for (const id of ["dependencies", "lambda"] as const) {
      expect(infra.stacks[id].json.terraform).toMatchObject({
        backend: {
          s3: {
            bucket: "acme-terraform-state",
            key: `thumbs-prod/eu-west-1/${id}.tfstate`,
            region: "eu-west-1",
            encrypt: true,
            use_lockfile: true,
          },
        },
      });
    }
  });
});

/** Names that must be unique in an account whatever the region: IAM roles, buckets, state files. */
function accountWideNames(infra: SynthedInfra): string[] {
  const { dependencies, lambda } = infra.stacks;
  const state = [dependencies, lambda].map((stack) => {
    const backend = (stack.json.terraform as { backend: Record<string, Record<string, string>> })
      .backend;
    return backend.local?.path ?? `${backend.s3?.bucket}/${backend.s3?.key}`;
  });
  return [
    ...Object.values(resources(dependencies.json, "aws_iam_role")).map((r) => String(r.name)),
    ...Object.values(resources(dependencies.json, "aws_iam_openid_connect_provider")).map((r) =>
      String(r.url),
    ),
    ...Object.values(resources(dependencies.json, "aws_s3_bucket")).map((r) => String(r.bucket)),
    ...state.map((path) => path.replace(infra.outdir, "<outdir>")),
  ];
}

describe("two deployments in one account, in two regions", () => {
  const REUSED_PROVIDER =
    "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

  it.each([
    ["local state", {}],
    ["one state bucket", { stateBucket: "acme-terraform-state", stateRegion: "eu-west-1" }],
  ])("share no account-wide name (IAM roles, buckets, %s)", (_, state) => {
    const base = { name: "thumbs", githubRepository: "acme/thumbnailer", ...state };
    const a = synthInfra({ ...base, region: "eu-west-1" });
    // The second reuses the first one's OIDC provider, as the bootstrap preflight arranges.
    const b = synthInfra({ ...base, region: "us-east-1", githubOidcProviderArn: REUSED_PROVIDER });
    try {
      const namesA = accountWideNames(a);
      expect(namesA.length).toBeGreaterThanOrEqual(6);
      for (const name of accountWideNames(b)) expect(namesA).not.toContain(name);
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });

  it("keeps IAM role names within IAM's 64 characters for the longest name and region", () => {
    const infra = synthInfra({
      name: "a-twenty-char-name-x",
      region: "ap-southeast-5",
      githubRepository: "acme/thumbnailer",
    });
    try {
      const roles = Object.values(resources(infra.stacks.dependencies.json, "aws_iam_role"));
      expect(roles).toHaveLength(3);
      for (const role of roles) expect(String(role.name).length).toBeLessThanOrEqual(64);
    } finally {
      infra.cleanup();
    }
  });
});

describe("two deployments in one account", () => {
  it("share no resource names", () => {
    const a = synthInfra({ name: "thumbs-a" });
    const b = synthInfra({ name: "thumbs-b" });
    try {
      const names = (infra: SynthedInfra) =>
        [infra.stacks.dependencies, infra.stacks.lambda].flatMap((stack) =>
          Object.entries(stack.json.resource ?? {})
            // Inline policy names are per role, not per account.
            .filter(([type]) => type !== "aws_iam_role_policy")
            .flatMap(([, byName]) =>
              Object.values(byName).flatMap((r) =>
                [r.name, r.bucket, r.function_name, r.alarm_name].filter(
                  (n): n is string => typeof n === "string" && !n.startsWith("${"),
                ),
              ),
            ),
        );
      const namesA = names(a);
      expect(namesA.length).toBeGreaterThan(5);
      for (const name of names(b)) expect(namesA).not.toContain(name);
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });
});
