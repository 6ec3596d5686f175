/**
 * The account preflight (ops/preflight.ts), which `npm run deploy` (package.json) and
 * scripts/bootstrap.sh run before anything is created: the Lambda concurrency quota when
 * reservedConcurrency is set, and every name the deployment would create that already exists
 * and is not its own (its Terraform state does not hold it). In process on aws-sdk-client-mock;
 * one wiring test runs bootstrap.sh on a real synth with the SDK stand-in.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  DescribeRepositoriesCommand,
  ECRClient,
  RepositoryNotFoundException,
} from "@aws-sdk/client-ecr";
import { GetRoleCommand, IAMClient, NoSuchEntityException } from "@aws-sdk/client-iam";
import {
  GetAccountSettingsCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-lambda";
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  NotFound,
  S3Client,
} from "@aws-sdk/client-s3";
import { GetQueueUrlCommand, QueueDoesNotExist, SQSClient } from "@aws-sdk/client-sqs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { checkAccount, main, readPlan } from "../ops/preflight";
import { serviceError } from "./support/fake-s3";
import { runScript, type ScratchProject, scratchProject } from "./support/fake-tools";
import { synthInfra } from "./support/infra";
import { rules } from "./support/script-rules";
import { NEW_ACCOUNT, sdkStandIn } from "./support/sdk-stand-in";

// The script tests synthesize both stacks and run bootstrap.sh: slow on a busy machine.
jest.setTimeout(120_000);

const deployed = (lines: string[]) => lines.some((l) => l.startsWith("npx cdktf deploy"));

describe("bootstrap.sh runs the account preflight (SDK stand-in)", () => {
  let project: ScratchProject;
  afterEach(() => project.cleanup());

  it("refuses when a function of the planned name exists, before deploying anything", () => {
    // Arrange: a real synth; the account holds a function named like the planned one, no state
    const context = { region: "eu-west-1", githubRepository: "acme/thumbs" };
    project = scratchProject(context);
    const infra = synthInfra(context, {});
    const sdk = sdkStandIn({
      ...NEW_ACCOUNT,
      "Lambda.GetFunction": [
        { when: { FunctionName: "thumbnailer" }, output: { Configuration: {} } },
        { error: "ResourceNotFoundException" },
      ],
    });
    try {
      // Act
      const run = runScript("bootstrap.sh", ["--yes", "--repo", "acme/thumbs"], {
        project: project.dir,
        rules: rules(),
        env: { ...sdk.env, SYNTH_OUT: infra.outdir },
      });

      // Assert: refused naming the function, nothing deployed, every planned kind asked about
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("Preflight failed; nothing was created or changed");
      expect(run.stderr).toContain("Lambda function thumbnailer already exists");
      expect(deployed(run.lines)).toBe(false);
      expect(sdk.calls()).toContainEqual({
        service: "Lambda",
        command: "GetFunction",
        input: { FunctionName: "thumbnailer" },
      });
      expect(new Set(sdk.commands("preflight"))).toEqual(
        new Set([
          "STS.GetCallerIdentity",
          "S3.HeadBucket",
          "ECR.DescribeRepositories",
          "CloudWatchLogs.DescribeLogGroups",
          "IAM.GetRole",
          "Lambda.GetFunction",
          "SQS.GetQueueUrl",
          "CloudWatch.DescribeAlarms",
        ]),
      );
    } finally {
      sdk.cleanup();
      infra.cleanup();
    }
  });
});

describe("npm run deploy", () => {
  it("applies the synth its preflight checked, in one script (no pre-hook that ignore-scripts skips)", () => {
    const { scripts } = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8"));

    // One synth into cdktf.out, the preflight on that directory, then the deploy of that same
    // synth: all in `deploy`, since npm skips pre-hooks under ignore-scripts (a common setting)
    // and a skipped synth would leave --skip-synth applying whatever cdktf.out held.
    expect(scripts.deploy).toMatch(
      /^npm run --silent synth && node dist\/ops\/preflight\.js account cdktf\.out && CHECKPOINT_DISABLE=1 cdktf deploy '\*' --skip-synth$/,
    );
    expect(scripts.synth).toMatch(/cdktf synth$/);
    expect(scripts.predeploy).toBeUndefined();
  });
});

describe("bootstrap.sh: settings are validated before they are persisted", () => {
  let project: ScratchProject;
  afterEach(() => project.cleanup());

  it("refuses a bad THUMBNAILER_* value naming it, and leaves cdktf.json as it was", () => {
    // Arrange
    project = scratchProject({ region: "eu-west-1" });
    const before = project.context();

    // Act
    const run = runScript("bootstrap.sh", ["--yes", "--repo", "acme/thumbs"], {
      project: project.dir,
      rules: rules(),
      env: { THUMBNAILER_RESERVED_CONCURRENCY: "0", THUMBNAILER_MEMORY_MB: "lots" },
    });

    // Assert: both problems named, nothing written, nothing synthesized or deployed
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("reservedConcurrency (THUMBNAILER_RESERVED_CONCURRENCY)");
    expect(run.stderr).toContain("THUMBNAILER_MEMORY_MB");
    expect(run.stderr).toContain("nothing was written");
    expect(project.context()).toEqual(before);
    expect(run.lines.some((l) => l.startsWith("npx"))).toBe(false);
  });
});

const lambda = mockClient(LambdaClient);
const s3 = mockClient(S3Client);
const ecr = mockClient(ECRClient);
const logs = mockClient(CloudWatchLogsClient);
const iam = mockClient(IAMClient);
const sqs = mockClient(SQSClient);
const cloudwatch = mockClient(CloudWatchClient);
const sts = mockClient(STSClient);
const mocks = [lambda, s3, ecr, logs, iam, sqs, cloudwatch, sts];
const $metadata = {};

/** S3's answer for a bucket of another account. */
const forbidden = () => serviceError("Forbidden", 403, "Forbidden");

/** IAM's answer for a role that exists. */
const existingRole = (RoleName: string) => ({
  Role: { RoleName, Path: "/", RoleId: "r", Arn: "a", CreateDate: new Date() },
});

/** A new account: 1000 concurrent executions, none reserved, none of the names exists. */
beforeEach(() => {
  for (const mock of mocks) mock.reset();
  lambda.on(GetAccountSettingsCommand).resolves({
    AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 },
  });
  const absent = new ResourceNotFoundException({ message: "Function not found", $metadata });
  lambda.on(GetFunctionConcurrencyCommand).rejects(absent);
  lambda.on(GetFunctionCommand).rejects(absent);
  s3.on(HeadBucketCommand).rejects(new NotFound({ message: "Not Found", $metadata }));
  ecr
    .on(DescribeRepositoriesCommand)
    .rejects(new RepositoryNotFoundException({ message: "no", $metadata }));
  logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
  iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: "no", $metadata }));
  sqs.on(GetQueueUrlCommand).rejects(new QueueDoesNotExist({ message: "no", $metadata }));
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
});
afterAll(() => {
  for (const mock of mocks) mock.restore();
});

/** A plan as ops/planned-names.ts prints it, in eu-west-1, with `lines` added. */
const plan = (...lines: string[]) => readPlan(["region eu-west-1", ...lines]);

describe("the Lambda concurrency quota", () => {
  const reserving = (count: number) => plan(`reserved-concurrency thumbnailer ${count}`);

  it("keeps the documented floor of 100 unreserved in a 1000 account: refuses 950, accepts 900", async () => {
    // Act
    const refused = await checkAccount(reserving(950));
    const accepted = await checkAccount(reserving(900));

    // Assert: the numbers, the floor being account-specific, and the ways out
    expect(refused.problems).toHaveLength(1);
    expect(refused.problems[0]).toContain(
      "reservedConcurrency 950 would leave 50 of the account's 1000 concurrent executions unreserved in eu-west-1; Lambda keeps at least 100 unreserved in this account",
    );
    expect(refused.problems[0]).toContain("the floor is account-specific");
    expect(refused.problems[0]).toContain("unset reservedConcurrency");
    expect(refused.problems[0]).toContain("lower it to at most 900");
    expect(refused.problems[0]).toContain("Service Quotas");
    expect(accepted.problems).toEqual([]);
    expect(accepted.notes).toContain(
      "reservedConcurrency 900 leaves 100 of 1000 concurrent executions unreserved",
    );
  });

  it("in an account of 10 in all (a new one), keeps all 10: nothing can be reserved until the quota is raised", async () => {
    // Arrange
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 },
    });

    // Act
    const report = await checkAccount(reserving(1));

    // Assert: no "lower it" that AWS would refuse too
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toContain(
      "would leave 9 of the account's 10 concurrent executions unreserved in eu-west-1; Lambda keeps at least 10",
    );
    expect(report.problems[0]).not.toContain("lower it");
    expect(report.problems[0]).toContain("Service Quotas");
  });

  it("does not count twice the reservation the deployed function already holds", async () => {
    // Arrange: 1000 in all; the deployed function already reserves 100, so 200 are unreserved
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 200 },
    });
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 100 });

    // Act
    const report = await checkAccount(reserving(150));

    // Assert: 200 + 100 - 150 = 150 stay unreserved
    expect(report.problems).toEqual([]);
    expect(lambda.commandCalls(GetFunctionConcurrencyCommand)[0]?.args[0].input).toEqual({
      FunctionName: "thumbnailer",
    });
  });

  it("asks nothing about the quota when reservedConcurrency is not set", async () => {
    // Act
    const report = await checkAccount(plan("function thumbnailer"));

    // Assert
    expect(report.problems).toEqual([]);
    expect(lambda.commandCalls(GetAccountSettingsCommand)).toHaveLength(0);
  });
});

describe("names the deployment would create", () => {
  const NAMES = [
    "bucket thumbnailer-source-123456789012-eu-west-1",
    "bucket thumbnailer-thumbnails-123456789012-eu-west-1",
    "ecr-repository thumbnailer",
    "log-group /aws/lambda/thumbnailer",
    "role thumbnailer-eu-west-1-lambda",
    "role thumbnailer-eu-west-1-backfill",
    "function thumbnailer",
    "queue thumbnailer-failures",
    "alarm thumbnailer-errors",
    "alarm thumbnailer-throttles",
  ];

  it("refuses every one that exists, all at once, each saying what to do", async () => {
    // Arrange: the source bucket is another account's (403), everything else of one kind exists
    s3.on(HeadBucketCommand, { Bucket: "thumbnailer-source-123456789012-eu-west-1" }).rejects(
      forbidden(),
    );
    s3.on(HeadBucketCommand, { Bucket: "thumbnailer-thumbnails-123456789012-eu-west-1" }).resolves(
      {},
    );
    ecr
      .on(DescribeRepositoriesCommand)
      .resolves({ repositories: [{ repositoryName: "thumbnailer" }] });
    logs.on(DescribeLogGroupsCommand).resolves({
      logGroups: [
        { logGroupName: "/aws/lambda/thumbnailer" },
        { logGroupName: "/aws/lambda/thumbnailer-x" },
      ],
    });
    iam
      .on(GetRoleCommand, { RoleName: "thumbnailer-eu-west-1-lambda" })
      .resolves(existingRole("thumbnailer-eu-west-1-lambda"));
    lambda.on(GetFunctionCommand).resolves({ Configuration: { FunctionName: "thumbnailer" } });
    sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: "https://sqs/thumbnailer-failures" });
    cloudwatch
      .on(DescribeAlarmsCommand, { AlarmNames: ["thumbnailer-errors"] })
      .resolves({ MetricAlarms: [{ AlarmName: "thumbnailer-errors" }] });

    // Act
    const report = await checkAccount(plan(...NAMES));

    // Assert: one problem per taken name, none for the free role and alarm
    expect(report.problems).toEqual([
      expect.stringContaining(
        "bucket thumbnailer-source-123456789012-eu-west-1 already exists and belongs to another account (403)",
      ),
      expect.stringContaining(
        "bucket thumbnailer-thumbnails-123456789012-eu-west-1 already exists in this account",
      ),
      expect.stringContaining("ECR repository thumbnailer already exists"),
      expect.stringContaining("log group /aws/lambda/thumbnailer already exists"),
      expect.stringContaining("IAM role thumbnailer-eu-west-1-lambda already exists"),
      expect.stringContaining(
        "Lambda function thumbnailer already exists in this account (the deploy would replace its code",
      ),
      expect.stringContaining("SQS queue thumbnailer-failures already exists"),
      expect.stringContaining(
        "CloudWatch alarm thumbnailer-errors already exists in this account (the deploy would silently overwrite it",
      ),
    ]);
    for (const problem of report.problems.slice(1)) {
      expect(problem).toContain('pick another "name" (cdktf.json context or THUMBNAILER_NAME)');
      expect(problem).toContain("terraform import it or delete it");
    }
    expect(sqs.commandCalls(GetQueueUrlCommand)[0]?.args[0].input).toEqual({
      QueueName: "thumbnailer-failures",
    });
  });

  it("passes a name the deployment's Terraform state holds, on every deploy, and still checks the rest", async () => {
    // Arrange: local state holding the function and a bucket; the function and a role exist
    const dir = mkdtempSync(join(tmpdir(), "preflight-state-"));
    const path = join(dir, "terraform.thumbnailer-eu-west-1-lambda.tfstate");
    writeFileSync(
      path,
      JSON.stringify({
        resources: [
          {
            mode: "managed",
            type: "aws_lambda_function",
            instances: [{ attributes: { function_name: "thumbnailer" } }],
          },
          {
            mode: "managed",
            type: "aws_s3_bucket",
            instances: [{ attributes: { bucket: "thumbnailer-source-123456789012-eu-west-1" } }],
          },
        ],
      }),
    );
    lambda.on(GetFunctionCommand).resolves({ Configuration: { FunctionName: "thumbnailer" } });
    iam
      .on(GetRoleCommand, { RoleName: "thumbnailer-eu-west-1-lambda" })
      .resolves(existingRole("thumbnailer-eu-west-1-lambda"));
    try {
      // Act
      const report = await checkAccount(plan(`state-local ${path}`, ...NAMES));

      // Assert: the role the state does not hold is refused; its own names are not even asked
      expect(report.problems).toEqual([
        expect.stringContaining("IAM role thumbnailer-eu-west-1-lambda already exists"),
      ]);
      expect(lambda.commandCalls(GetFunctionCommand)).toHaveLength(0);
      expect(s3.commandCalls(HeadBucketCommand).map((c) => c.args[0].input.Bucket)).toEqual([
        "thumbnailer-thumbnails-123456789012-eu-west-1",
      ]);
      expect(report.notes).toContain(
        "2 planned names are this deployment's (its Terraform state holds them)",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a state kept in S3 with the SDK, in the state bucket's region", async () => {
    // Arrange: the queue is the deployment's own, by its state in S3
    const state = JSON.stringify({
      resources: [
        {
          mode: "managed",
          type: "aws_sqs_queue",
          instances: [{ attributes: { name: "thumbnailer-failures" } }],
        },
      ],
    });
    s3.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => state },
    } as unknown as GetObjectCommandOutput);
    sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: "https://sqs/thumbnailer-failures" });

    // Act
    const report = await checkAccount(
      plan(
        "state-s3 acme-tfstate thumbnailer/eu-west-1/dependencies.tfstate us-east-1",
        "queue thumbnailer-failures",
      ),
    );

    // Assert
    expect(report.problems).toEqual([]);
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: "acme-tfstate",
      Key: "thumbnailer/eu-west-1/dependencies.tfstate",
    });
    const client = s3.commandCalls(GetObjectCommand)[0]?.thisValue as S3Client;
    expect(await client.config.region()).toBe("us-east-1");
    expect(sqs.commandCalls(GetQueueUrlCommand)).toHaveLength(0);
  });

  it("says it cannot tell names apart when the state cannot be read, and judges none", async () => {
    // Arrange
    s3.on(GetObjectCommand).rejects(forbidden());

    // Act
    const report = await checkAccount(plan("state-s3 acme-tfstate k.tfstate eu-west-1", ...NAMES));

    // Assert
    expect(report.problems).toEqual([
      expect.stringContaining(
        "cannot read the Terraform state s3://acme-tfstate/k.tfstate: Forbidden",
      ),
    ]);
    expect(s3.commandCalls(HeadBucketCommand)).toHaveLength(0);
  });

  it("reports a read it may not make as a problem naming it, not as a free name", async () => {
    // Arrange
    iam
      .on(GetRoleCommand)
      .rejects(Object.assign(new Error("not authorized to iam:GetRole"), { name: "AccessDenied" }));

    // Act
    const report = await checkAccount(plan("role thumbnailer-eu-west-1-lambda"));

    // Assert
    expect(report.problems).toEqual([
      "cannot check IAM role thumbnailer-eu-west-1-lambda: AccessDenied: not authorized to iam:GetRole (needs read access to it)",
    ]);
  });
});

describe("preflight.js account OUTDIR", () => {
  it("without a synthesized plan, says to synthesize first and asks AWS nothing", async () => {
    // Arrange
    const stderr = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      // Act
      const status = await main(["account", join(tmpdir(), "no-such-cdktf-out")]);

      // Assert
      const printed = stderr.mock.calls.map((call) => call.join(" ")).join("\n");
      expect(status).toBe(1);
      expect(printed).toContain("no synthesized plan in");
      expect(printed).toContain("run npm run synth");
      expect(sts.calls()).toHaveLength(0);
    } finally {
      stderr.mockRestore();
    }
  });

  it("without working AWS credentials, says so and what to do, and asks nothing else", async () => {
    // Arrange: a synthesized plan; no credentials anywhere
    const infra = synthInfra({ region: "eu-west-1" }, {});
    const { outdir } = infra;
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error("Could not load credentials from any providers"), {
        name: "CredentialsProviderError",
      }),
    );
    const stderr = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      // Act
      const status = await main(["account", outdir]);

      // Assert
      const printed = stderr.mock.calls.map((call) => call.join(" ")).join("\n");
      expect(status).toBe(1);
      expect(printed).toContain("Preflight failed; nothing was created or changed");
      expect(printed).toContain("no working AWS credentials");
      expect(printed).toContain("run 'aws configure' or 'aws sso login', or set AWS_PROFILE");
      expect(lambda.calls()).toHaveLength(0);
    } finally {
      stderr.mockRestore();
      infra.cleanup();
    }
  });
});
