/**
 * Whether the AWS account can take what the deployment plans, checked before anything is created
 * by `npm run deploy` (package.json) and scripts/bootstrap.sh. Reads only.
 *
 *   node dist/ops/preflight.js account OUTDIR   OUTDIR: `cdktf synth`'s output (cdktf.out)
 *   node dist/ops/preflight.js settings         the settings a synth would read (cdktf.json
 *       context, THUMBNAILER_* variables): exit 1 naming every bad one, before they are persisted
 *
 * account: with reservedConcurrency set, the account must keep its floor of executions
 * unreserved; every name the deployment would create (buckets, ECR repository, log groups, IAM
 * roles, function, queue, alarms: ops/planned-names.ts) must not exist unless this deployment's
 * Terraform state holds it. Every problem is reported at once, each saying what to do (exit 1).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import {
  GetAccountSettingsCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
} from "@aws-sdk/client-lambda";
import { GetObjectCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { ConfigError } from "../handler/errors";
import { readInfraConfig } from "../stacks/config";
import { readPersisted } from "../stacks/persisted-settings";
import type { StateLocation } from "../stacks/stack-base";
import { clientConfig, describeError, isAbsent, isForbidden, unlessAbsent } from "./aws";
import { deploymentModel, readSynthStacks } from "./deployment";
import { NAMED, plannedNames } from "./planned-names";
import { runNamed } from "./run-tool";

/** What the synthesized deployment plans, from ops/planned-names.ts's lines. */
export interface Plan {
  readonly region: string;
  /** "KIND NAME", e.g. "function thumbnailer". */
  readonly names: readonly string[];
  readonly reserved?: { readonly functionName: string; readonly count: number };
  /** Where each stack's Terraform state lives. */
  readonly states: readonly StateLocation[];
}

export interface Report {
  readonly problems: string[];
  readonly notes: string[];
}

export function readPlan(lines: readonly string[]): Plan {
  let region = "";
  let reserved: Plan["reserved"];
  const names: string[] = [];
  const states: StateLocation[] = [];
  for (const line of lines) {
    const [kind = "", a = "", b = "", c = ""] = line.split(" ");
    if (kind === "region") region ||= a;
    else if (kind === "reserved-concurrency") reserved = { functionName: a, count: Number(b) };
    else if (kind === "state-local") states.push({ kind: "local", path: a });
    else if (kind === "state-s3") states.push({ kind: "s3", bucket: a, key: b, region: c });
    else names.push(line);
  }
  return { region, names, reserved, states };
}

/**
 * The fewest concurrent executions Lambda keeps unreserved in an account whose quota is `total`.
 * AWS documents 100 ("you can reserve up to the unreserved account concurrency minus 100",
 * docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html); an account whose whole
 * quota is lower (new accounts: 10 or 50) keeps all of it, as AWS's errors say ("below its
 * minimum value of [10]"). So nothing can be reserved there until the quota is raised.
 */
export function unreservedFloor(total: number): number {
  return Math.min(100, total);
}

export async function checkConcurrency(
  lambda: LambdaClient,
  region: string,
  reserved: NonNullable<Plan["reserved"]>,
): Promise<Report> {
  const { functionName: fn, count } = reserved;
  const { AccountLimit: limit } = await lambda.send(new GetAccountSettingsCommand({}));
  const total = limit?.ConcurrentExecutions ?? 0;
  const unreserved = limit?.UnreservedConcurrentExecutions ?? 0;
  // A redeploy: the function's own reservation is already out of the unreserved pool.
  const held = await unlessAbsent(() =>
    lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: fn })),
  );
  const current = held?.ReservedConcurrentExecutions ?? 0;
  const left = unreserved + current - count;
  const floor = unreservedFloor(total);
  if (left >= floor) {
    return {
      problems: [],
      notes: [
        `reservedConcurrency ${count} leaves ${left} of ${total} concurrent executions unreserved`,
      ],
    };
  }
  const most = unreserved + current - floor;
  const now = `${unreserved} are unreserved now${current > 0 ? `, ${fn} already reserves ${current}` : ""}`;
  return {
    problems: [
      `reservedConcurrency ${count} would leave ${left} of the account's ${total} concurrent executions unreserved in ${region}; ` +
        `Lambda keeps at least ${floor} unreserved in this account (${now}; the floor is account-specific: 100, or the whole quota when it is below 100, as in new accounts): ` +
        `unset reservedConcurrency (cdktf.json context or THUMBNAILER_RESERVED_CONCURRENCY), ${most >= 1 ? `lower it to at most ${most}, ` : ""}` +
        "or request a higher 'Concurrent executions' quota in Service Quotas (AWS Lambda) and retry once it is granted",
    ],
    notes: [],
  };
}

export interface Clients {
  readonly s3: S3Client;
  readonly ecr: ECRClient;
  readonly logs: CloudWatchLogsClient;
  readonly iam: IAMClient;
  readonly lambda: LambdaClient;
  readonly sqs: SQSClient;
  readonly cloudwatch: CloudWatchClient;
}

export function clientsFor(region: string): Clients {
  const config = clientConfig({ region });
  return {
    s3: new S3Client(config),
    ecr: new ECRClient(config),
    logs: new CloudWatchLogsClient(config),
    iam: new IAMClient(config),
    lambda: new LambdaClient(config),
    sqs: new SQSClient(config),
    cloudwatch: new CloudWatchClient(config),
  };
}

/** Whether a name is taken: not at all, by this account, or (buckets: names are global) elsewhere. */
type Taken = "no" | "yes" | "another-account" | "another-region";

const found = (value: unknown): Taken => (value === undefined ? "no" : "yes");

async function bucketTaken(s3: S3Client, name: string): Promise<Taken> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: name }));
    return "yes";
  } catch (error) {
    if (isAbsent(error)) return "no";
    if (isForbidden(error)) return "another-account";
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 301) return "another-region";
    throw error;
  }
}

/** Planned kind -> what it is called, how to tell whether a name is taken, why it matters. */
const KINDS: Readonly<
  Record<
    string,
    { what: string; taken: (c: Clients, name: string) => Promise<Taken>; why?: string }
  >
> = {
  bucket: { what: "bucket", taken: (c, name) => bucketTaken(c.s3, name) },
  "ecr-repository": {
    what: "ECR repository",
    taken: async (c, name) =>
      found(
        await unlessAbsent(() =>
          c.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })),
        ),
      ),
  },
  "log-group": {
    what: "log group",
    taken: async (c, name) => {
      const out = await c.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
      // The exact name sorts first among those it prefixes: on the first page if it exists.
      return (out.logGroups ?? []).some((g) => g.logGroupName === name) ? "yes" : "no";
    },
  },
  role: {
    what: "IAM role",
    taken: async (c, name) =>
      found(await unlessAbsent(() => c.iam.send(new GetRoleCommand({ RoleName: name })))),
  },
  function: {
    what: "Lambda function",
    taken: async (c, name) =>
      found(
        await unlessAbsent(() => c.lambda.send(new GetFunctionCommand({ FunctionName: name }))),
      ),
    why: "the deploy would replace its code before Terraform failed to create it",
  },
  queue: {
    what: "SQS queue",
    taken: async (c, name) =>
      found(await unlessAbsent(() => c.sqs.send(new GetQueueUrlCommand({ QueueName: name })))),
  },
  alarm: {
    what: "CloudWatch alarm",
    taken: async (c, name) => {
      const out = await c.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
      return (out.MetricAlarms?.length ?? 0) + (out.CompositeAlarms?.length ?? 0) > 0
        ? "yes"
        : "no";
    },
    why: "the deploy would silently overwrite it (PutMetricAlarm replaces a same-named alarm)",
  },
};

const FIX =
  'pick another "name" (cdktf.json context or THUMBNAILER_NAME), or, if it is this deployment\'s from a lost state, terraform import it or delete it';

/** The problem with planned `line` ("KIND NAME"), if its name is taken. */
async function nameProblem(clients: Clients, line: string): Promise<string | undefined> {
  const [kind = "", name = ""] = line.split(" ");
  const check = KINDS[kind];
  if (check === undefined) throw new Error(`preflight: no check for planned ${kind} ${name}`);
  let taken: Taken;
  try {
    taken = await check.taken(clients, name);
  } catch (error) {
    return `cannot check ${check.what} ${name}: ${describeError(error)} (needs read access to it)`;
  }
  const what = `${check.what} ${name}`;
  switch (taken) {
    case "no":
      return undefined;
    case "another-account":
      return `${what} already exists and belongs to another account (403): bucket names are global, pick another "name" (cdktf.json context or THUMBNAILER_NAME)`;
    case "another-region":
      return `${what} already exists in another region (301): bucket names are global, ${FIX}`;
    default:
      return `${what} already exists in this account${check.why ? ` (${check.why})` : ""}: ${FIX}`;
  }
}

/** "KIND NAME" of every named resource a Terraform state (its JSON) holds. */
export function namesInState(stateJson: string): string[] {
  if (stateJson.trim() === "") return [];
  const state = JSON.parse(stateJson) as {
    resources?: {
      mode?: string;
      type?: string;
      instances?: { attributes?: Record<string, unknown> }[];
    }[];
  };
  return (state.resources ?? []).flatMap((resource) => {
    const named = NAMED[resource.type ?? ""];
    if (resource.mode !== "managed" || named === undefined) return [];
    const [kind, attribute] = named;
    return (resource.instances ?? []).map((i) => `${kind} ${String(i.attributes?.[attribute])}`);
  });
}

/** The state's JSON text ("" when the stack has none yet). */
async function readState(state: StateLocation): Promise<string> {
  if (state.kind === "local") return existsSync(state.path) ? readFileSync(state.path, "utf8") : "";
  const s3 = new S3Client(clientConfig({ region: state.region }));
  const out = await unlessAbsent(() =>
    s3.send(new GetObjectCommand({ Bucket: state.bucket, Key: state.key })),
  );
  return (await out?.Body?.transformToString()) ?? "";
}

const where = (state: StateLocation) =>
  state.kind === "local" ? state.path : `s3://${state.bucket}/${state.key}`;

/** The names this deployment's Terraform state holds, or the problem reading it. */
async function ownNames(states: readonly StateLocation[]): Promise<Set<string> | string> {
  const own = new Set<string>();
  for (const state of states) {
    try {
      for (const name of namesInState(await readState(state))) own.add(name);
    } catch (error) {
      return `cannot read the Terraform state ${where(state)}: ${describeError(error)} (needs read access to it; without it, names cannot be told from this deployment's own)`;
    }
  }
  return own;
}

/** Every check of `plan` against the account; every problem found. */
export async function checkAccount(plan: Plan, clients = clientsFor(plan.region)): Promise<Report> {
  const report: Report = { problems: [], notes: [] };
  const quota = plan.reserved
    ? checkConcurrency(clients.lambda, plan.region, plan.reserved).catch(
        (error): Report => ({
          problems: [`cannot check the Lambda concurrency quota: ${describeError(error)}`],
          notes: [],
        }),
      )
    : undefined;
  const own = await ownNames(plan.states);
  if (typeof own === "string") {
    report.problems.push(own);
  } else {
    const fresh = plan.names.filter((line) => !own.has(line));
    if (own.size > 0)
      report.notes.push(
        `${plan.names.length - fresh.length} planned names are this deployment's (its Terraform state holds them)`,
      );
    const found = await Promise.all(fresh.map((line) => nameProblem(clients, line)));
    report.problems.push(...found.filter((p): p is string => p !== undefined));
  }
  const concurrency = await quota;
  report.problems.unshift(...(concurrency?.problems ?? []));
  report.notes.push(...(concurrency?.notes ?? []));
  return report;
}

/** The account of the current credentials, or the problem getting it. */
async function accountId(region: string): Promise<{ account?: string; problem?: string }> {
  try {
    const out = await new STSClient(clientConfig({ region })).send(
      new GetCallerIdentityCommand({}),
    );
    if (out.Account) return { account: out.Account };
    return { problem: "sts:GetCallerIdentity returned no account" };
  } catch (error) {
    return {
      problem: `no working AWS credentials (sts:GetCallerIdentity: ${describeError(error)}): run 'aws configure' or 'aws sso login', or set AWS_PROFILE, then retry`,
    };
  }
}

/** Prints `report` as scripts/lib/common.sh's preflight does; the exit status. */
function print(report: Report): number {
  for (const note of report.notes) console.error(`    ${note}`);
  if (report.problems.length === 0) {
    console.error("    account checks passed");
    return 0;
  }
  console.error("\nPreflight failed; nothing was created or changed:");
  for (const problem of report.problems) console.error(`  - ${problem}`);
  return 1;
}

/** The "KIND NAME" lines of what `outdir` plans, bucket names resolved for `account`. */
const planned = (outdir: string, account: string) =>
  plannedNames(deploymentModel(readSynthStacks(outdir), { account }));

/** `preflight account OUTDIR`: the exit status. */
export async function preflightAccount(outdir: string): Promise<number> {
  if (!existsSync(join(outdir, "stacks"))) {
    const problem = `no synthesized plan in ${outdir}: run npm run synth (cdktf synth) first`;
    return print({ problems: [problem], notes: [] });
  }
  const { region } = readPlan(planned(outdir, ""));
  const { account, problem } = await accountId(region);
  if (account === undefined) return print({ problems: [problem ?? ""], notes: [] });
  console.error(`    checking AWS account ${account} in ${region} for what ${outdir} plans`);
  return print(await checkAccount(readPlan(planned(outdir, account))));
}

/** `preflight settings`: the settings a synth in `dir` would refuse, or undefined. */
export function settingsProblem(dir: string, env: NodeJS.ProcessEnv): string | undefined {
  const persisted = readPersisted(join(dir, "cdktf.json"));
  try {
    readInfraConfig({ context: (key) => persisted[key], env });
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

export async function main(args: readonly string[]): Promise<number> {
  const [command, outdir] = args;
  if (command === "account" && outdir !== undefined) return preflightAccount(outdir);
  if (command === "settings") {
    const problem = settingsProblem(process.cwd(), process.env);
    if (problem !== undefined) console.error(problem);
    return problem === undefined ? 0 : 1;
  }
  console.error("usage: preflight.js account OUTDIR | settings");
  return 2;
}

if (require.main === module) runNamed("preflight", main);
