/**
 * `thumbnailer backfill --batch`: the S3 Batch Operations job it creates, checked against the
 * AWS SDK's S3 Control and S3 clients mocked at the SDK level (aws-sdk-client-mock), and the
 * deployment's outputs it reads. No request reaches AWS.
 */

import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { GetFunctionConcurrencyCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { CreateJobCommand, DescribeJobCommand, S3ControlClient } from "@aws-sdk/client-s3-control";
import { mockClient } from "aws-sdk-client-mock";
import { type BatchOptions, createJobRequest, runBatch } from "../cli/backfill/batch";
import { type Deployment, readDeployment, sameDeployment } from "../cli/backfill/deployment";
import { readDeploymentModel, sameName } from "../ops/deployment";
import { buildDist } from "./support/build-dist";
import { type SynthedInfra, synthInfra } from "./support/infra";
import { runCli } from "./support/run-cli";

/** The operator's credentials; the mocked clients never send them anywhere. */
const TEST_CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example" };
const FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:thumbnailer";
const ROLE_ARN = "arn:aws:iam::123456789012:role/thumbnailer-eu-west-1-backfill";

/** The Lambda stack's outputs as `cdktf output lambda --outputs-file` writes them. */
const OUTPUTS_FILE = {
  lambda: {
    functionArn: FUNCTION_ARN,
    sourceBucket: "thumbnailer-source-123456789012-eu-west-1",
    sourcePrefix: "uploads/",
    sourceSuffix: ".jpg",
    destinationBucket: "thumbnailer-thumbnails-123456789012-eu-west-1",
    backfillRoleArn: ROLE_ARN,
    backfillReportPrefix: "thumbnailer-backfill/",
    functionName: "thumbnailer",
  },
};

const DEPLOYMENT: Deployment = {
  functionArn: FUNCTION_ARN,
  sourceBucket: "thumbnailer-source-123456789012-eu-west-1",
  sourcePrefix: "uploads/",
  sourceSuffix: ".jpg",
  destinationBucket: "thumbnailer-thumbnails-123456789012-eu-west-1",
  roleArn: ROLE_ARN,
  reportPrefix: "thumbnailer-backfill/",
  partition: "aws",
  region: "eu-west-1",
  accountId: "123456789012",
};

/** The request this deployment's job must be, whatever its token. */
const EXPECTED_REQUEST = {
  AccountId: "123456789012",
  ClientRequestToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
  ConfirmationRequired: false,
  Priority: 10,
  RoleArn: ROLE_ARN,
  Description:
    'thumbnailer backfill (missing) of s3://thumbnailer-source-123456789012-eu-west-1/uploads/ keys ending ".jpg"',
  Operation: {
    LambdaInvoke: {
      FunctionArn: FUNCTION_ARN,
      InvocationSchemaVersion: "2.0",
      UserArguments: { mode: "missing" },
    },
  },
  ManifestGenerator: {
    S3JobManifestGenerator: {
      ExpectedBucketOwner: "123456789012",
      SourceBucket: "arn:aws:s3:::thumbnailer-source-123456789012-eu-west-1",
      EnableManifestOutput: true,
      ManifestOutputLocation: {
        ExpectedManifestBucketOwner: "123456789012",
        Bucket: "arn:aws:s3:::thumbnailer-thumbnails-123456789012-eu-west-1",
        ManifestPrefix: "thumbnailer-backfill",
        ManifestFormat: "S3InventoryReport_CSV_20211130",
      },
      // Only what uploads trigger: the notification's prefix and suffix.
      Filter: { KeyNameConstraint: { MatchAnyPrefix: ["uploads/"], MatchAnySuffix: [".jpg"] } },
    },
  },
  Report: {
    Enabled: true,
    Bucket: "arn:aws:s3:::thumbnailer-thumbnails-123456789012-eu-west-1",
    Prefix: "thumbnailer-backfill",
    Format: "Report_CSV_20180820",
    ReportScope: "FailedTasksOnly",
  },
};

describe("backfill --batch (S3 Control, S3 and Lambda mocked at the SDK level)", () => {
  const s3control = mockClient(S3ControlClient);
  const s3 = mockClient(S3Client);
  const lambda = mockClient(LambdaClient);
  let stdout: jest.SpyInstance;
  let stderr: jest.SpyInstance;

  beforeEach(() => {
    s3control.reset();
    s3.reset();
    lambda.reset();
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 50 });
    s3.on(ListObjectsV2Command).resolves({
      KeyCount: 4,
      IsTruncated: false,
      Contents: ["uploads/a.jpg", "uploads/b.png", "uploads/c.jpg", "uploads/notes.txt"].map(
        (Key) => ({ Key }),
      ),
    });
    s3control.on(CreateJobCommand).resolves({ JobId: "job-42" });
    stdout = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
  });

  afterEach(() => {
    stdout.mockRestore();
    stderr.mockRestore();
  });

  afterAll(() => {
    s3control.restore();
    s3.restore();
    lambda.restore();
  });

  const options = (overrides: Partial<BatchOptions> = {}): BatchOptions => ({
    deployment: DEPLOYMENT,
    mode: "missing",
    s3: new S3Client({ region: "eu-west-1", credentials: TEST_CREDENTIALS }),
    s3control: new S3ControlClient({ region: "eu-west-1", credentials: TEST_CREDENTIALS }),
    lambda: new LambdaClient({ region: "eu-west-1", credentials: TEST_CREDENTIALS }),
    allowUnreserved: false,
    dryRun: false,
    wait: false,
    confirm: async () => true,
    pollMs: 0,
    ...overrides,
  });

  it("creates the job: generated manifest of the source prefix, schema 2.0 with the mode, failed-task report, the backfill role", async () => {
    const questions: string[] = [];

    const code = await runBatch(
      options({
        confirm: async (question) => {
          questions.push(question);
          return true;
        },
      }),
    );

    expect(code).toBe(0);
    const calls = s3control.commandCalls(CreateJobCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual(EXPECTED_REQUEST);
    expect(questions).toEqual([
      expect.stringContaining(
        'in s3://thumbnailer-source-123456789012-eu-west-1/uploads/ keys ending ".jpg" (2 objects), mode missing',
      ),
    ]);
    expect(questions[0]).toContain("at most 50 at once (its reserved concurrency)");
    expect(lambda.commandCalls(GetFunctionConcurrencyCommand)[0]?.args[0].input).toEqual({
      FunctionName: FUNCTION_ARN,
    });
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toEqual({
      Bucket: "thumbnailer-source-123456789012-eu-west-1",
      Prefix: "uploads/",
      MaxKeys: 1000,
    });
    expect(stdout).toHaveBeenCalledWith("job-42\n");
    const said = stderr.mock.calls.map(([text]) => String(text)).join("");
    expect(said).toContain(
      "aws s3control describe-job --account-id 123456789012 --region eu-west-1 --job-id job-42",
    );
    expect(said).toContain(
      "s3://thumbnailer-thumbnails-123456789012-eu-west-1/thumbnailer-backfill/job-job-42/",
    );
  });

  it("passes mode force, and leaves out the filter when the deployment has no source prefix or suffix", () => {
    const whole = { ...DEPLOYMENT, sourcePrefix: "", sourceSuffix: "" };
    const request = createJobRequest(whole, "force", "token");
    const suffixOnly = createJobRequest({ ...whole, sourceSuffix: ".png" }, "force");

    expect(request.Operation?.LambdaInvoke?.UserArguments).toEqual({ mode: "force" });
    expect(request.ManifestGenerator?.S3JobManifestGenerator?.Filter).toBeUndefined();
    expect(request.ClientRequestToken).toBe("token");
    expect(suffixOnly.ManifestGenerator?.S3JobManifestGenerator?.Filter).toEqual({
      KeyNameConstraint: { MatchAnySuffix: [".png"] },
    });
  });

  it("without credentials says what to set before asking, and sends nothing", async () => {
    const noCredentials = async () => {
      throw Object.assign(new Error("Could not load credentials from any providers"), {
        name: "CredentialsProviderError",
      });
    };
    const confirm = jest.fn(async () => true);

    const code = await runBatch(
      options({
        s3control: new S3ControlClient({ region: "eu-west-1", credentials: noCredentials }),
        confirm,
      }),
    );

    expect(code).toBe(2);
    expect(confirm).not.toHaveBeenCalled();
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(0);
    const said = stderr.mock.calls.map(([text]) => String(text)).join("");
    expect(said).toContain("backfill --batch: no AWS credentials: set AWS_ACCESS_KEY_ID");
    expect(said).not.toContain("CredentialsProviderError");
  });

  it("refuses, before asking, a function without reserved concurrency: exit 2, naming the setting and the flag", async () => {
    lambda.on(GetFunctionConcurrencyCommand).resolves({});
    const confirm = jest.fn(async () => true);

    const code = await runBatch(options({ confirm }));

    expect(code).toBe(2);
    expect(confirm).not.toHaveBeenCalled();
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(0);
    const said = stderr.mock.calls.map(([text]) => String(text)).join("");
    expect(said).toContain(`backfill --batch: ${FUNCTION_ARN} has no reserved concurrency`);
    expect(said).toContain("THUMBNAILER_RESERVED_CONCURRENCY (reservedConcurrency in cdktf.json)");
    expect(said).toContain("--allow-unreserved");
  });

  it("with --allow-unreserved creates the job anyway, after a warning", async () => {
    lambda.on(GetFunctionConcurrencyCommand).resolves({});
    const questions: string[] = [];

    const code = await runBatch(
      options({
        allowUnreserved: true,
        confirm: async (question) => {
          questions.push(question);
          return true;
        },
      }),
    );

    expect(code).toBe(0);
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(1);
    const said = stderr.mock.calls.map(([text]) => String(text)).join("");
    expect(said).toContain("backfill --batch: warning: ");
    expect(said).toContain("has no reserved concurrency");
    expect(questions[0]).toContain("no cap but the account's concurrency");
  });

  it("refuses when the concurrency cannot be read, naming the permission; --allow-unreserved goes on", async () => {
    lambda.on(GetFunctionConcurrencyCommand).rejects(
      Object.assign(new Error("User is not authorized to perform: lambda:GetFunctionConcurrency"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 403 },
      }),
    );

    const refused = await runBatch(options());
    const allowed = await runBatch(options({ allowUnreserved: true }));

    expect([refused, allowed]).toEqual([2, 0]);
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(1);
    const said = stderr.mock.calls.map(([text]) => String(text)).join("");
    expect(said).toContain(
      `backfill --batch: cannot read the reserved concurrency of ${FUNCTION_ARN} (lambda:GetFunctionConcurrency): AccessDeniedException`,
    );
  });

  it("refuses a function that does not exist, even with --allow-unreserved", async () => {
    lambda
      .on(GetFunctionConcurrencyCommand)
      .rejects(
        Object.assign(new Error("Function not found"), { name: "ResourceNotFoundException" }),
      );

    const code = await runBatch(options({ allowUnreserved: true }));

    expect(code).toBe(2);
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(0);
    const said = stderr.mock.calls.map(([text]) => String(text)).join("");
    expect(said).toContain(`backfill --batch: the function ${FUNCTION_ARN} does not exist`);
  });

  it("sends nothing when the confirmation is refused", async () => {
    const code = await runBatch(options({ confirm: async () => false }));

    expect(code).toBe(2);
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(0);
  });

  it("--dry-run prints the CreateJob request and sends nothing, without asking", async () => {
    const confirm = jest.fn(async () => true);

    const code = await runBatch(options({ dryRun: true, confirm }));

    expect(code).toBe(0);
    expect(s3control.calls()).toHaveLength(0);
    expect(s3.calls()).toHaveLength(0);
    expect(lambda.calls()).toHaveLength(0);
    expect(confirm).not.toHaveBeenCalled();
    const printed = JSON.parse(stdout.mock.calls.map(([text]) => String(text)).join(""));
    expect(printed).toEqual(EXPECTED_REQUEST);
  });

  it("--wait follows the job until it completes and fails when tasks failed", async () => {
    s3control
      .on(DescribeJobCommand)
      .resolvesOnce({
        Job: {
          Status: "Active",
          ProgressSummary: {
            TotalNumberOfTasks: 3,
            NumberOfTasksSucceeded: 1,
            NumberOfTasksFailed: 0,
          },
        },
      })
      .resolves({
        Job: {
          Status: "Complete",
          ProgressSummary: {
            TotalNumberOfTasks: 3,
            NumberOfTasksSucceeded: 2,
            NumberOfTasksFailed: 1,
          },
        },
      });

    const code = await runBatch(options({ wait: true }));

    expect(code).toBe(1);
    expect(s3control.commandCalls(DescribeJobCommand).map((c) => c.args[0].input)).toEqual([
      { AccountId: "123456789012", JobId: "job-42" },
      { AccountId: "123456789012", JobId: "job-42" },
    ]);
    const said = stderr.mock.calls.map(([text]) => String(text)).join("");
    expect(said).toContain("job job-42 Complete: 2 succeeded, 1 failed. Report: s3://");
  });
});

describe("the deployment's outputs", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "thumbnailer-outputs-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads a `cdktf output --outputs-file` file and takes account, region and partition from the function ARN", async () => {
    const file = path.join(dir, "outputs.json");
    await writeFile(file, JSON.stringify(OUTPUTS_FILE));

    expect(await readDeployment(file)).toEqual(DEPLOYMENT);
  });

  it("says which output is missing and how to get the outputs", async () => {
    const file = path.join(dir, "old.json");
    const { backfillRoleArn: _, ...old } = OUTPUTS_FILE.lambda;
    await writeFile(file, JSON.stringify({ lambda: old }));
    // A deployment made before the suffix was an output: its filter is unknown, so no guess.
    const noSuffix = path.join(dir, "no-suffix.json");
    const { sourceSuffix: __, ...older } = OUTPUTS_FILE.lambda;
    await writeFile(noSuffix, JSON.stringify({ lambda: older }));

    await expect(readDeployment(file)).rejects.toThrow(
      /no "backfill-role-arn".*redeploy.*npx cdktf output lambda --outputs-file/s,
    );
    await expect(readDeployment(noSuffix)).rejects.toThrow(/no "source-suffix".*redeploy/s);
  });
});

/** The settings of the deployment the outputs above describe, as cdktf.json holds them. */
const CONTEXT = { region: "eu-west-1", notificationPrefix: "uploads/", notificationSuffix: ".jpg" };

describe("backfill --batch in a project folder (the built CLI, real synths, no Terraform state)", () => {
  /** The deployment cdktf.json describes, and another one synthesized from the same checkout. */
  let infra: SynthedInfra;
  let other: SynthedInfra;
  let work: string;
  let recorder: Server;
  const requests: string[] = [];

  beforeAll(async () => {
    buildDist(); // tsc over the whole project: not inside a test's own time limit
    infra = synthInfra(CONTEXT);
    other = synthInfra({ ...CONTEXT, name: "other" });
    work = await mkdtemp(path.join(tmpdir(), "thumbnailer-batch-cli-"));
    // Every AWS SDK request of the CLI comes here (AWS_ENDPOINT_URL). Only a job about to be
    // created asks one: GetFunctionConcurrency, answered "none reserved" (Lambda's REST JSON:
    // an empty object); anything else fails.
    recorder = createServer((request, response) => {
      const url = decodeURIComponent(request.url ?? "");
      requests.push(`${request.method} ${url}`);
      const concurrency = /^\/2019-09-30\/functions\/[^/]+\/concurrency$/.test(url);
      response.writeHead(concurrency ? 200 : 500, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
  }, 180_000);

  afterAll(async () => {
    infra.cleanup();
    other.cleanup();
    await rm(work, { recursive: true, force: true });
    await new Promise((resolve) => recorder.close(resolve));
  });

  beforeEach(() => {
    requests.length = 0;
  });

  /** A project folder: cdktf.json with `context`, and `synth` as its cdktf.out (none: never synthesized). */
  let projects = 0;
  async function project(
    context: Record<string, unknown>,
    synth: SynthedInfra | undefined,
  ): Promise<string> {
    projects += 1;
    const folder = path.join(work, `project-${projects}`);
    await mkdir(folder);
    await writeFile(path.join(folder, "cdktf.json"), JSON.stringify({ context }));
    if (synth !== undefined) await symlink(synth.outdir, path.join(folder, "cdktf.out"));
    return folder;
  }

  const env = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    AWS_ENDPOINT_URL: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_REGION: "eu-west-1",
    ...more,
  });

  it("prints a complete CreateJob request from the outputs with --dry-run, and refuses direct-mode flags", async () => {
    const cwd = await project(CONTEXT, infra);
    const file = path.join(cwd, "outputs.json");
    await writeFile(file, JSON.stringify(OUTPUTS_FILE));

    const dry = await runCli(["backfill", "--batch", "--dry-run", "--force", "--outputs", file], {
      cwd,
      env: env(),
    });
    const mixed = await runCli(["backfill", "--batch", "--outputs", file, "--source-bucket", "x"], {
      cwd,
      env: env(),
    });
    const none = await runCli(
      ["backfill", "--batch", "--yes", "--outputs", path.join(cwd, "none.json")],
      { cwd, env: env() },
    );

    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({
      ...EXPECTED_REQUEST,
      Description: EXPECTED_REQUEST.Description.replace("missing", "force"),
      Operation: {
        LambdaInvoke: {
          ...EXPECTED_REQUEST.Operation.LambdaInvoke,
          UserArguments: { mode: "force" },
        },
      },
    });
    expect(dry.stderr).toContain("nothing sent");
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("--source-bucket is for --direct");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("npx cdktf output lambda --outputs-file");
    expect(requests).toEqual([]);
  }, 120_000);

  it("refuses a function without reserved concurrency with exit 2, before asking or creating anything", async () => {
    const cwd = await project(CONTEXT, infra);
    const file = path.join(cwd, "outputs.json");
    await writeFile(file, JSON.stringify(OUTPUTS_FILE));

    const refused = await runCli(["backfill", "--batch", "--yes", "--outputs", file], {
      cwd,
      env: env(),
    });

    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${FUNCTION_ARN} has no reserved concurrency`);
    expect(refused.stderr).toContain("set THUMBNAILER_RESERVED_CONCURRENCY");
    expect(refused.stderr).toContain("--allow-unreserved");
    expect(refused.stdout).toBe("");
    // One request: the concurrency. No listing, no CreateJob.
    expect(requests).toEqual([`GET /2019-09-30/functions/${FUNCTION_ARN}/concurrency`]);
  }, 120_000);

  it("--help names --allow-unreserved and the setting that caps a job", async () => {
    const help = await runCli(["backfill", "--help"]);

    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--allow-unreserved\s+create the job even though/);
    expect(help.stdout).toContain("(THUMBNAILER_RESERVED_CONCURRENCY) caps it");
  }, 120_000);

  it("prints a complete CreateJob request with the synthesized names, the account left to AWS, and sends nothing", async () => {
    // Never deployed from here: cdktf.json and `cdktf synth`'s output only.
    const cwd = await project(CONTEXT, infra);

    const dry = await runCli(["backfill", "--batch", "--dry-run"], { cwd, env: env() });

    expect(dry.code).toBe(0);
    const bucket = (kind: string) => `arn:<partition>:s3:::thumbnailer-${kind}-<account>-eu-west-1`;
    expect(JSON.parse(dry.stdout)).toEqual({
      AccountId: "<account>",
      ClientRequestToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ConfirmationRequired: false,
      Priority: 10,
      RoleArn: "arn:<partition>:iam::<account>:role/thumbnailer-eu-west-1-backfill",
      Description:
        'thumbnailer backfill (missing) of s3://thumbnailer-source-<account>-eu-west-1/uploads/ keys ending ".jpg"',
      Operation: {
        LambdaInvoke: {
          FunctionArn: "arn:<partition>:lambda:eu-west-1:<account>:function:thumbnailer",
          InvocationSchemaVersion: "2.0",
          UserArguments: { mode: "missing" },
        },
      },
      ManifestGenerator: {
        S3JobManifestGenerator: {
          ExpectedBucketOwner: "<account>",
          SourceBucket: bucket("source"),
          EnableManifestOutput: true,
          ManifestOutputLocation: {
            ExpectedManifestBucketOwner: "<account>",
            Bucket: bucket("thumbnails"),
            ManifestPrefix: "thumbnailer-backfill",
            ManifestFormat: "S3InventoryReport_CSV_20211130",
          },
          Filter: { KeyNameConstraint: { MatchAnyPrefix: ["uploads/"], MatchAnySuffix: [".jpg"] } },
        },
      },
      Report: {
        Enabled: true,
        Bucket: bucket("thumbnails"),
        Prefix: "thumbnailer-backfill",
        Format: "Report_CSV_20180820",
        ReportScope: "FailedTasksOnly",
      },
    });
    expect(dry.stderr).toContain("from the synthesized stacks in cdktf.out");
    expect(dry.stderr).toContain("nothing sent");
    expect(requests).toEqual([]);
  }, 120_000);

  it("creates no job from the synthesized stacks alone, and a dry run without a synth says to synthesize: exit 2", async () => {
    const synthesized = await project(CONTEXT, infra);
    const unsynthesized = await project(CONTEXT, undefined);

    const real = await runCli(["backfill", "--batch", "--yes"], { cwd: synthesized, env: env() });
    const dry = await runCli(["backfill", "--batch", "--dry-run"], {
      cwd: unsynthesized,
      env: env(),
    });

    expect(real.code).toBe(2);
    expect(real.stderr).toContain("npx cdktf output lambda --outputs-file");
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain("no synthesized stacks in cdktf.out/stacks: npm run synth");
    expect(requests).toEqual([]);
  }, 120_000);

  // Finding N22: two deployments synthesized from one checkout; cdktf.out holds the last one.
  it("refuses a cdktf.out synthesized for another deployment than cdktf.json describes: exit 2, nothing built from it", async () => {
    const cwd = await project(CONTEXT, other);

    const dry = await runCli(["backfill", "--batch", "--dry-run"], { cwd, env: env() });
    // The same deployment named for this run (THUMBNAILER_NAME, as the synth read it) is accepted.
    const named = await runCli(["backfill", "--batch", "--dry-run"], {
      cwd,
      env: env({ THUMBNAILER_NAME: "other" }),
    });

    expect(dry.code).toBe(2);
    expect(dry.stdout).toBe("");
    expect(dry.stderr).toContain(
      'cdktf.out holds the stacks of deployment "other" (eu-west-1), but cdktf.json describes "thumbnailer" (eu-west-1)',
    );
    expect(dry.stderr).toContain("npm run synth");
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout).Operation.LambdaInvoke.FunctionArn).toBe(
      "arn:<partition>:lambda:eu-west-1:<account>:function:other",
    );
    expect(requests).toEqual([]);
  }, 120_000);

  it("the model: a synth whose state is elsewhere than cdktf.json says is refused; outputs of the same deployment pass, a filter deployed otherwise is noted", async () => {
    // Arrange: cdktf.json moved the state to a bucket, the synth is from before (local state)
    const moved = await project({ ...CONTEXT, stateBucket: "acme-tfstate" }, infra);
    const same = await project(CONTEXT, infra);
    const deployed = { ...DEPLOYMENT, sourceSuffix: ".png" };

    // Act
    const model = readDeploymentModel({ projectRoot: same, env: {} });
    const notes = sameDeployment(model, deployed, "outputs.json");

    // Assert
    expect(() => readDeploymentModel({ projectRoot: moved, env: {} })).toThrow(
      /cdktf.json describes "thumbnailer" \(eu-west-1\), its state elsewhere \(dependencies, lambda\): npm run synth/,
    );
    expect(sameDeployment(model, DEPLOYMENT, "outputs.json")).toEqual([]);
    expect(notes).toEqual([
      'the deployed source-suffix is ".png", cdktf.json\'s ".jpg" is not deployed yet: the deployed one applies',
    ]);
    // Another account's deployment of the same name is the same deployment; another name is not.
    expect(sameName(model.sourceBucket, "thumbnailer-source-210987654321-eu-west-1")).toBe(true);
    expect(sameName(model.sourceBucket, "thumbnailer-source-x-eu-west-1")).toBe(false);
    expect(sameName(model.functionArn, FUNCTION_ARN.replace("thumbnailer", "thumbnailer2"))).toBe(
      false,
    );
  });

  it("refuses the outputs of another deployment (terraform output in cdktf.out/stacks/lambda, or --outputs): exit 2, no job", async () => {
    const cwd = await project(CONTEXT, infra);
    // `terraform output` in the stack folder answers with the state it was last initialized
    // for: here another deployment's (another name), as after deploying it from this checkout.
    const bin = path.join(cwd, "bin");
    await mkdir(bin);
    const otherOutputs = Object.fromEntries(
      Object.entries({
        ...OUTPUTS_FILE.lambda,
        functionArn: FUNCTION_ARN.replace(/thumbnailer$/, "other"),
        sourceBucket: "other-source-123456789012-eu-west-1",
        destinationBucket: "other-thumbnails-123456789012-eu-west-1",
        backfillRoleArn: ROLE_ARN.replace("thumbnailer-", "other-"),
      }).map(([name, value]) => [name, { value, type: "string", sensitive: false }]),
    );
    await writeFile(path.join(cwd, "terraform-outputs.json"), JSON.stringify(otherOutputs));
    await writeFile(
      path.join(bin, "terraform"),
      `#!/bin/sh\n[ "$1 $2" = "output -json" ] && exec cat ${JSON.stringify(path.join(cwd, "terraform-outputs.json"))}\nexit 1\n`,
      { mode: 0o755 },
    );
    // A file of this deployment's outputs but from another region.
    const otherRegion = path.join(cwd, "us-east-1.json");
    await writeFile(otherRegion, JSON.stringify(OUTPUTS_FILE).replaceAll("eu-west-1", "us-east-1"));
    const withTerraform = env({ PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` });

    const fromState = await runCli(["backfill", "--batch", "--yes"], { cwd, env: withTerraform });
    const fromFile = await runCli(["backfill", "--batch", "--dry-run", "--outputs", otherRegion], {
      cwd,
      env: env(),
    });

    expect(fromState.code).toBe(2);
    expect(fromState.stderr).toContain(
      'the outputs (terraform output in cdktf.out/stacks/lambda) are of function "other" in eu-west-1, but cdktf.json describes function "thumbnailer" in eu-west-1',
    );
    expect(fromFile.code).toBe(2);
    expect(fromFile.stdout).toBe("");
    expect(fromFile.stderr).toContain(
      `the outputs (${otherRegion}) are of function "thumbnailer" in us-east-1, but cdktf.json describes function "thumbnailer" in eu-west-1`,
    );
    expect(requests).toEqual([]);
  }, 120_000);
});
