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
  /** Every SDK call made so far, in order. */
  calls(): SdkCall[];
  /** The calls as "Service.Command", for order assertions. */
  commands(): string[];
  cleanup(): void;
}

export function sdkStandIn(answers: Answers): SdkStandIn {
  const dir = mkdtempSync(join(tmpdir(), "sdk-stand-in-"));
  const calls = join(dir, "calls.jsonl");
  const file = join(dir, "scenario.json");
  writeFileSync(calls, "");
  writeFileSync(file, JSON.stringify({ calls, answers }));
  const read = (): SdkCall[] =>
    readFileSync(calls, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as SdkCall);
  return {
    env: {
      NODE_OPTIONS: `--require ${join(__dirname, "sdk-preload.js")}`,
      SDK_STAND_IN: file,
    },
    calls: read,
    commands: () => read().map((call) => `${call.service}.${call.command}`),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * An account where nothing the deployment names exists yet, with the default concurrency quota:
 * what scripts that run the account preflight (ops/preflight.ts) see unless a test says otherwise.
 */
export const NEW_ACCOUNT: Answers = {
  "STS.GetCallerIdentity": { output: { Account: "123456789012" } },
  "Lambda.GetAccountSettings": {
    output: { AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } },
  },
  "Lambda.GetFunctionConcurrency": { error: "ResourceNotFoundException" },
  "Lambda.GetFunction": { error: "ResourceNotFoundException" },
  "S3.HeadBucket": { error: "NotFound", status: 404 },
  "S3.GetObject": { error: "NoSuchKey", status: 404 },
  "ECR.DescribeRepositories": { error: "RepositoryNotFoundException" },
  "CloudWatchLogs.DescribeLogGroups": { output: { logGroups: [] } },
  "IAM.GetRole": { error: "NoSuchEntityException", status: 404 },
  "SQS.GetQueueUrl": { error: "QueueDoesNotExist" },
  "CloudWatch.DescribeAlarms": { output: { MetricAlarms: [], CompositeAlarms: [] } },
};
