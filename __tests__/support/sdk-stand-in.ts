/**
 * AWS SDK answers for the ops tools a script runs in a child process (sdk-preload.js): write a
 * scenario, pass `env` to the script (runScript's options.env), read back the SDK calls made.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Answer {
  readonly output?: unknown;
  /** The SDK error's name, e.g. "ResourceNotFoundException" (the package's class when it has one). */
  readonly error?: string;
  readonly message?: string;
  /** HTTP status of an error (default 400), e.g. 403 for a bucket another account owns. */
  readonly status?: number;
  /** Used only for calls whose input has each of these fields, equal. */
  readonly when?: Record<string, unknown>;
}

/** "Service.Command" (e.g. "Lambda.GetFunction") -> its answer, or answers in order. */
export type Answers = Record<string, Answer | readonly Answer[]>;

export interface SdkCall {
  readonly service: string;
  readonly command: string;
  readonly input: Record<string, unknown>;
}

export interface SdkStandIn {
  /** Environment for the child process: NODE_OPTIONS preloads the stand-in. */
  readonly env: NodeJS.ProcessEnv;
  /** Every SDK call made so far, in order; only those of one program with `tool` (e.g. "preflight" for dist/ops/preflight.js). */
  calls(tool?: string): SdkCall[];
  /** The calls as "Service.Command", for order assertions; `tool` as for calls. */
  commands(tool?: string): string[];
  cleanup(): void;
}

/**
 * `answers` over a new account's (NEW_ACCOUNT): for a command in both, `answers`' come first, and
 * their `when` answers win over NEW_ACCOUNT's catch-all ones.
 */
export function withNewAccount(answers: Answers): Answers {
  const list = (a: Answer | readonly Answer[] | undefined): Answer[] =>
    a === undefined ? [] : Array.isArray(a) ? [...a] : [a as Answer];
  const merged: Record<string, Answer[]> = {};
  for (const key of new Set([...Object.keys(NEW_ACCOUNT), ...Object.keys(answers)])) {
    const own = list(answers[key]);
    // A catch-all of the test's own replaces the new account's catch-all.
    const fallback = own.some((a) => a.when === undefined) ? [] : list(NEW_ACCOUNT[key]);
    merged[key] = [...own, ...fallback];
  }
  return merged;
}

export function sdkStandIn(answers: Answers): SdkStandIn {
  const dir = mkdtempSync(join(tmpdir(), "sdk-stand-in-"));
  const calls = join(dir, "calls.jsonl");
  const file = join(dir, "scenario.json");
  writeFileSync(calls, "");
  writeFileSync(file, JSON.stringify({ calls, answers }));
  const read = (tool?: string): SdkCall[] =>
    readFileSync(calls, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as SdkCall & { tool: string })
      .filter((call) => tool === undefined || call.tool === tool)
      .map(({ service, command, input }) => ({ service, command, input }));
  return {
    env: {
      NODE_OPTIONS: `--require ${join(__dirname, "sdk-preload.js")}`,
      SDK_STAND_IN: file,
    },
    calls: read,
    commands: (tool) => read(tool).map((call) => `${call.service}.${call.command}`),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Working credentials of account 123456789012 (the scripts' preflight, ops/aws-account.ts). */
export const CALLER: Answers = {
  "STS.GetCallerIdentity": { output: { Account: "123456789012" } },
};

/** ECR's login token: base64 "AWS:password" (push-image.sh logs docker in with the password). */
export const ECR_LOGIN: Answers = {
  "ECR.GetAuthorizationToken": {
    output: {
      authorizationData: [
        { authorizationToken: Buffer.from("AWS:ecr-password-123").toString("base64") },
      ],
    },
  },
};

/**
 * An account where nothing the deployment names exists yet, with the default concurrency quota:
 * what scripts that run the account preflight (ops/preflight.ts) see unless a test says otherwise.
 */
export const NEW_ACCOUNT: Answers = {
  ...CALLER,
  ...ECR_LOGIN,
  "Lambda.GetAccountSettings": {
    output: { AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } },
  },
  "Lambda.GetFunctionConcurrency": { error: "ResourceNotFoundException" },
  "Lambda.GetFunction": { error: "ResourceNotFoundException" },
  // The function the (stand-in) deploy made, as bootstrap.sh's last step reads it.
  "Lambda.GetFunctionConfiguration": {
    output: { Architectures: ["arm64"], Environment: { Variables: { SOURCE_PREFIX: "uploads/" } } },
  },
  "S3.HeadBucket": { error: "NotFound", status: 404 },
  "S3.GetObject": { error: "NoSuchKey", status: 404 },
  "ECR.DescribeRepositories": { error: "RepositoryNotFoundException" },
  "CloudWatchLogs.DescribeLogGroups": { output: { logGroups: [] } },
  "IAM.GetRole": { error: "NoSuchEntityException", status: 404 },
  "SQS.GetQueueUrl": { error: "QueueDoesNotExist" },
  "CloudWatch.DescribeAlarms": { output: { MetricAlarms: [], CompositeAlarms: [] } },
  "IAM.ListOpenIDConnectProviders": { output: { OpenIDConnectProviderList: [] } },
  "S3.ListObjectVersions": { output: { IsTruncated: false } },
};
