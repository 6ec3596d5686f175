/**
 * The one model of a deployment: every name, ARN, prefix, suffix and output name of the
 * deployment its settings describe, read from what `cdktf synth` wrote for them
 * (cdktf.out/stacks/<stack>/cdk.tf.json), so nothing here re-derives a name the stacks make.
 * ops/planned-names.ts (the scripts' account checks and destroy), `thumbnailer backfill --batch`
 * and `--direct` all read it.
 *
 * readDeploymentModel checks that cdktf.out holds the stacks of the deployment cdktf.json (and
 * the THUMBNAILER_* variables, as a synth reads them) describes: with two deployments synthesized
 * from one checkout, cdktf.out holds whichever was synthesized last.
 *
 * Only AWS can tell the account and partition: until they are given, names and ARNs hold the
 * placeholders UNKNOWN_ACCOUNT and UNKNOWN_PARTITION.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { ConfigError } from "../handler/errors";
import { SERVICE_SETTINGS as HANDLER_ROWS, readSetting } from "../handler/settings";
import { type InfraConfig, readInfraConfig } from "../stacks/config";
import { describeOverride, overrides, readPersisted } from "../stacks/persisted-settings";
import { type StateLocation, stateLocation } from "../stacks/stack-base";

export const UNKNOWN_ACCOUNT = "<account>";
export const UNKNOWN_PARTITION = "<partition>";

/** Where `cdktf synth` writes the stacks (cdktf.json's default output folder). */
export const SYNTH_DIR = "cdktf.out";

/** The Lambda stack's outputs (stacks/lambda-stack.ts) the model and `backfill --batch` read. */
export const OUTPUTS = {
  functionArn: "function-arn",
  functionName: "function-name",
  sourceBucket: "source-bucket",
  sourcePrefix: "source-prefix",
  sourceSuffix: "source-suffix",
  destinationBucket: "destination-bucket",
  backfillRoleArn: "backfill-role-arn",
  backfillReportPrefix: "backfill-report-prefix",
} as const;

export interface DeploymentModel {
  /** The deployment's name (the `name` setting, the stacks' Deployment tag) and region. */
  readonly name: string;
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  readonly functionName: string;
  readonly functionArn: string;
  /** The function's environment as deployed (bucket names resolved). */
  readonly functionEnvironment: Readonly<Record<string, string>>;
  readonly reservedConcurrency?: number;
  readonly sourceBucket: string;
  readonly destinationBucket: string;
  /** The notification's filter: only keys under the prefix and ending with the suffix trigger. */
  readonly sourcePrefix: string;
  readonly sourceSuffix: string;
  /** The handler's DEST_PREFIX, read by the handler's own row from the function's environment. */
  readonly destinationPrefix: string;
  readonly backfillRoleArn: string;
  readonly backfillReportPrefix: string;
  /** Every bucket, ECR repository, log group, IAM role, SQS queue and alarm, by name. */
  readonly buckets: readonly string[];
  readonly ecrRepositories: readonly string[];
  readonly logGroups: readonly string[];
  readonly roles: readonly string[];
  readonly queues: readonly string[];
  readonly alarms: readonly string[];
  /** Where each stack's Terraform state lives, by stack id. */
  readonly state: readonly { readonly stack: string; readonly location: StateLocation }[];
}

/** A deployment that cannot be read, or is not the one asked for: what to do says the message. */
export class DeploymentError extends Error {
  override readonly name = "DeploymentError";
}

/** The parts of a synthesized stack that are read. */
export interface StackJson {
  provider?: { aws?: { region?: string; default_tags?: { tags?: Record<string, string> }[] }[] };
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value?: unknown }>;
  terraform?: { backend?: { local?: { path: string }; s3?: Record<string, string> } };
}

export interface SynthStack {
  /** The stack's id: its folder under cdktf.out/stacks. */
  readonly id: string;
  readonly json: StackJson;
}

/** Every stack `cdktf synth` wrote to `outdir`, in id order. */
export function readSynthStacks(outdir: string): SynthStack[] {
  const stacksDir = join(outdir, "stacks");
  let ids: string[];
  try {
    ids = readdirSync(stacksDir).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const shown = relative(process.cwd(), stacksDir);
    throw new DeploymentError(`no synthesized stacks in ${shown}: npm run synth`);
  }
  return ids.map((id) => ({
    id,
    json: JSON.parse(readFileSync(join(stacksDir, id, "cdk.tf.json"), "utf8")) as StackJson,
  }));
}

/** What AWS has told of the account; placeholders for what it has not. */
export interface Known {
  readonly account?: string;
  readonly partition?: string;
}

/**
 * The attribute holding each named resource's name, by Terraform type: what the model reads from
 * a synth, and what ops/planned-names.ts and ops/preflight.ts read from a Terraform state.
 */
export const NAME_ATTRIBUTE = {
  aws_s3_bucket: "bucket",
  aws_ecr_repository: "name",
  aws_cloudwatch_log_group: "name",
  aws_iam_role: "name",
  aws_lambda_function: "function_name",
  aws_sqs_queue: "name",
  aws_cloudwatch_metric_alarm: "alarm_name",
} as const;

/** The model of the deployment whose synthesized stacks these are. */
export function deploymentModel(stacks: readonly SynthStack[], known: Known = {}): DeploymentModel {
  const lambda = stacks.find(({ json }) => json.output?.[OUTPUTS.functionArn] !== undefined);
  const provider = lambda?.json.provider?.aws?.[0];
  if (lambda === undefined || provider?.region === undefined) {
    throw new DeploymentError(
      `no synthesized Lambda stack with the "${OUTPUTS.functionArn}" output: npm run synth`,
    );
  }
  const region = provider.region;
  const account = known.account ?? UNKNOWN_ACCOUNT;
  const partition = known.partition ?? UNKNOWN_PARTITION;
  const resolve = resolver(stacks, { region, account, partition });
  const output = (name: string) => resolve(lambda.json, lambda.json.output?.[name]?.value, name);
  const names = (type: keyof typeof NAME_ATTRIBUTE, attribute = NAME_ATTRIBUTE[type]) =>
    stacks.flatMap(({ json }) =>
      Object.values(json.resource?.[type] ?? {}).map((resource) =>
        resolve(json, resource[attribute], `${type}.${attribute}`),
      ),
    );
  const [fn] = Object.values(lambda.json.resource?.aws_lambda_function ?? {});
  const variables = ((fn?.environment as { variables?: Record<string, unknown> } | undefined)
    ?.variables ?? {}) as Record<string, unknown>;
  const functionEnvironment = Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [key, resolve(lambda.json, value, key)]),
  );
  const reserved = fn?.reserved_concurrent_executions;
  return {
    name: provider.default_tags?.[0]?.tags?.Deployment ?? output(OUTPUTS.functionName),
    region,
    account,
    partition,
    functionName: output(OUTPUTS.functionName),
    functionArn: output(OUTPUTS.functionArn),
    functionEnvironment,
    ...(typeof reserved === "number" ? { reservedConcurrency: reserved } : {}),
    sourceBucket: output(OUTPUTS.sourceBucket),
    destinationBucket: output(OUTPUTS.destinationBucket),
    sourcePrefix: output(OUTPUTS.sourcePrefix),
    sourceSuffix: output(OUTPUTS.sourceSuffix),
    destinationPrefix:
      readSetting(HANDLER_ROWS.destPrefix, functionEnvironment[HANDLER_ROWS.destPrefix.env]) ?? "",
    backfillRoleArn: output(OUTPUTS.backfillRoleArn),
    backfillReportPrefix: output(OUTPUTS.backfillReportPrefix),
    buckets: names("aws_s3_bucket"),
    ecrRepositories: names("aws_ecr_repository"),
    logGroups: names("aws_cloudwatch_log_group"),
    roles: names("aws_iam_role"),
    queues: names("aws_sqs_queue"),
    alarms: names("aws_cloudwatch_metric_alarm"),
    state: stacks.flatMap(({ id, json }) => {
      const location = backendLocation(json);
      return location === undefined ? [] : [{ stack: id, location }];
    }),
  };
}

function backendLocation(json: StackJson): StateLocation | undefined {
  const backend = json.terraform?.backend;
  if (backend?.local) return { kind: "local", path: backend.local.path };
  const s3 = backend?.s3;
  if (s3?.bucket && s3.key && s3.region) {
    return { kind: "s3", bucket: s3.bucket, key: s3.key, region: s3.region };
  }
  return undefined;
}

type Get = (argument: string, fallback?: string) => string;

/** The ARNs Terraform computes after creating a resource, from the resource's own arguments. */
const COMPUTED_ARNS: Record<
  string,
  (get: Get, at: Required<Known> & { region: string }) => string
> = {
  aws_lambda_function: (get, { partition, region, account }) =>
    `arn:${partition}:lambda:${region}:${account}:function:${get("function_name")}`,
  aws_iam_role: (get, { partition, account }) =>
    `arn:${partition}:iam::${account}:role${get("path", "/")}${get("name")}`,
};

/**
 * A synthesized value as a string: literals as written (the account filled in where the stacks
 * hold it as the ECR repository's registry ID), cross-stack references followed to the stack
 * that makes the value, ARNs built from the names.
 */
function resolver(stacks: readonly SynthStack[], at: Required<Known> & { region: string }) {
  const resolve = (stack: StackJson, value: unknown, what: string): string => {
    if (typeof value !== "string") throw cannot(what, value);
    const remote = /^\$\{data\.terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)\}$/.exec(value);
    if (remote !== null) {
      const name = remote[1] ?? "";
      const producer = stacks.find(({ json }) => json.output?.[name] !== undefined)?.json;
      if (producer === undefined) throw cannot(what, value);
      return resolve(producer, producer.output?.[name]?.value, what);
    }
    const attribute = /^\$\{(aws_\w+)\.([\w-]+)\.(\w+)\}$/.exec(value);
    if (attribute !== null) {
      const [, type = "", id = "", name = ""] = attribute;
      const resource = stack.resource?.[type]?.[id];
      if (resource === undefined) throw cannot(what, value);
      const get: Get = (argument, fallback) =>
        resource[argument] === undefined && fallback !== undefined
          ? fallback
          : resolve(stack, resource[argument], what);
      const computed = COMPUTED_ARNS[type];
      if (name === "arn" && computed !== undefined) return computed(get, at);
      return get(name);
    }
    const text = value.replace(/\$\{aws_ecr_repository\.[\w-]+\.registry_id\}/g, at.account);
    if (text.includes("${")) throw cannot(what, value);
    return text;
  };
  return resolve;
}

function cannot(what: string, value: unknown): DeploymentError {
  return new DeploymentError(
    `the synthesized "${what}" (${JSON.stringify(value)}) is known only once deployed`,
  );
}

/** Whether `name` is the model's `template` (a name or ARN) with the account and partition filled in. */
export function sameName(template: string, name: string): boolean {
  const pattern = template
    .split(UNKNOWN_ACCOUNT)
    .map((part) =>
      part
        .split(UNKNOWN_PARTITION)
        .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join("aws[a-z-]*"),
    )
    .join("\\d{12}");
  return new RegExp(`^${pattern}$`).test(name);
}

export interface ModelOptions extends Known {
  /** The project folder: cdktf.json, and cdktf.out in it. Default: the working directory. */
  readonly projectRoot?: string;
  /** THUMBNAILER_* variables win over cdktf.json, as for a synth. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The model of the deployment the project's settings describe (cdktf.json's context, the
 * THUMBNAILER_* variables winning as in a synth), from its synthesized stacks in cdktf.out.
 * Throws DeploymentError, saying what to run, when cdktf.out is missing or holds the stacks of
 * another deployment (another name, region or state location: synthesized with other settings).
 */
export function readDeploymentModel(options: ModelOptions = {}): DeploymentModel {
  const root = options.projectRoot ?? process.cwd();
  const env = options.env ?? process.env;
  const file = join(root, "cdktf.json");
  if (!existsSync(file)) {
    throw new DeploymentError(`no cdktf.json in ${root}: run this from the project folder`);
  }
  const persisted = readPersisted(file);
  const context = (key: string) => persisted[key];
  let config: InfraConfig;
  try {
    config = readInfraConfig({ context, env });
  } catch (error) {
    if (error instanceof ConfigError) throw new DeploymentError(error.message);
    throw error;
  }
  const model = deploymentModel(readSynthStacks(join(root, SYNTH_DIR)), options);

  const stale = model.state.filter(({ stack, location }) => {
    const wanted = stateLocation(config, stack, root);
    // A local state file is named for the deployment; the folder is where the synth ran.
    return wanted.kind === "local" && location.kind === "local"
      ? basename(wanted.path) !== basename(location.path)
      : JSON.stringify(wanted) !== JSON.stringify(location);
  });
  if (model.name !== config.name || model.region !== config.region || stale.length > 0) {
    const overridden = overrides(context, env).map((o) => `; ${describeOverride(o)}`);
    throw new DeploymentError(
      `${SYNTH_DIR} holds the stacks of deployment "${model.name}" (${model.region}), but ` +
        `cdktf.json describes "${config.name}" (${config.region})${overridden.join("")}` +
        `${stale.length > 0 ? `, its state elsewhere (${stale.map((s) => s.stack).join(", ")})` : ""}: ` +
        `npm run synth (with the same THUMBNAILER_* variables) synthesizes the one described`,
    );
  }
  return model;
}

/** Names compared without case, "-" and "_" ("backfill-role-arn" is cdktf's "backfillRoleArn"). */
const loose = (name: string) => name.toLowerCase().replace(/[-_]/g, "");

/**
 * The output named `name` (matched loosely) anywhere in `tree`: flat ({name: value}), per stack
 * ({lambda: {name: value}}) or as Terraform prints it ({name: {value}}); the shallowest wins.
 * Empty strings count.
 */
export function findOutput(tree: unknown, name: string): string | undefined {
  const wanted = loose(name);
  const find = (node: unknown): string | undefined => {
    if (typeof node !== "object" || node === null) return undefined;
    for (const [key, value] of Object.entries(node)) {
      if (loose(key) !== wanted) continue;
      if (typeof value === "string") return value;
      const inner = (value as { value?: unknown } | null)?.value;
      if (typeof inner === "string") return inner;
    }
    for (const value of Object.values(node)) {
      const found = find(value);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return find(tree);
}
