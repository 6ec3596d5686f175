/**
 * `npm run status`: what the deployed function runs (image, digest, the commit its tags name,
 * architecture, last update) and where its settings drifted from what the persisted settings
 * (cdktf.json, and THUMBNAILER_* in this environment, as a deploy reads them) would give it.
 *
 *   node dist/ops/status.js [--json] [--help]
 */
import { join } from "node:path";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import {
  GetFunctionCommand,
  type GetFunctionCommandOutput,
  LambdaClient,
} from "@aws-sdk/client-lambda";
import { type InfraConfig, readInfraConfig, STACK_HANDLER_SETTINGS } from "../stacks/config";
import { describeOverride, overrides, readPersisted } from "../stacks/persisted-settings";
import { functionEnvironment } from "../stacks/thumbnail-function";
import { clientConfig, unlessAbsent } from "./aws";
import { findImage, type Repository, splitImageUri } from "./image-tags";
import { parseOptions, runTool } from "./run-tool";
import { commitOf } from "./tag-names";

/** The deployment the operator's commands act on. */
export interface DeploymentTarget {
  readonly functionName: string;
  readonly repositoryName: string;
  readonly region: string;
  /** The settings a deploy from here would apply. */
  readonly config: InfraConfig;
  /** THUMBNAILER_* variables that differ from cdktf.json, one line each. */
  readonly overrides: readonly string[];
}

/**
 * The deployment named by the persisted settings in `root`/cdktf.json (and THUMBNAILER_* in
 * `env`, as a deploy reads them): the function and the ECR repository are both named after the
 * deployment's `name` (stacks/dependencies-stack.ts), in its `region`. The one place rollback and
 * status learn what they act on.
 */
export function deploymentTarget(root: string, env: NodeJS.ProcessEnv): DeploymentTarget {
  const persisted = readPersisted(join(root, "cdktf.json"));
  const context = (key: string) => persisted[key];
  const config = readInfraConfig({ context, env });
  return {
    functionName: config.name,
    repositoryName: config.name,
    region: config.region,
    config,
    overrides: overrides(context, env).map(describeOverride),
  };
}

/** The function as GetFunction describes it; a missing function is an error saying so. */
export async function readFunction(
  lambda: LambdaClient,
  target: Pick<DeploymentTarget, "functionName" | "region">,
): Promise<GetFunctionCommandOutput> {
  const fn = await unlessAbsent(() =>
    lambda.send(new GetFunctionCommand({ FunctionName: target.functionName })),
  );
  if (fn === undefined) {
    throw new Error(
      `there is no function ${target.functionName} in ${target.region}: deploy it first (npm run deploy), or check THUMBNAILER_NAME / THUMBNAILER_REGION and cdktf.json`,
    );
  }
  return fn;
}

/** The deployment's ECR repository; a missing one is an error saying so. */
export async function deploymentRepository(
  ecr: ECRClient,
  target: Pick<DeploymentTarget, "repositoryName" | "region">,
): Promise<Repository> {
  const out = await unlessAbsent(() =>
    ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [target.repositoryName] })),
  );
  const found = out?.repositories?.[0];
  if (found?.repositoryUri === undefined || found.registryId === undefined) {
    throw new Error(`there is no ECR repository ${target.repositoryName} in ${target.region}`);
  }
  return {
    url: found.repositoryUri,
    name: target.repositoryName,
    registryId: found.registryId,
    region: target.region,
  };
}

/** One setting whose deployed value is not what the settings give. */
export interface Drift {
  /** The cdktf.json setting, e.g. "memoryMb" or "thumbWidth (THUMB_WIDTH)". */
  readonly setting: string;
  readonly deployed?: string;
  readonly configured?: string;
}

/** The cdktf.json setting behind one of the function's environment variables. */
function settingOf(variable: string): string {
  if (variable === "SOURCE_PREFIX") return "notificationPrefix (SOURCE_PREFIX)";
  const row = STACK_HANDLER_SETTINGS.find((s) => s.lambdaEnv === variable);
  return row === undefined ? variable : `${row.key} (${variable})`;
}

/**
 * Where the function differs from what `config` gives it: architecture, memory, timeout,
 * reserved concurrency, and its environment as the stack builds it (stacks/thumbnail-function.ts);
 * the buckets are the deployment's own, not settings, and are not compared.
 */
export function settingsDrift(fn: GetFunctionCommandOutput, config: InfraConfig): Drift[] {
  const c = fn.Configuration ?? {};
  const text = (value: unknown) => (value === undefined ? undefined : String(value));
  const actualEnv = c.Environment?.Variables ?? {};
  const wantedEnv = functionEnvironment({
    handlerEnvironment: config.handlerEnvironment,
    sourcePrefix: config.notificationPrefix,
    sourceBucketName: "",
    destinationBucketName: "",
  });
  const pairs: [string, string | undefined, string | undefined][] = [
    ["architecture", c.Architectures?.[0], config.architecture],
    ["memoryMb", text(c.MemorySize), text(config.memoryMb)],
    ["timeoutSeconds", text(c.Timeout), text(config.timeoutSeconds)],
    [
      "reservedConcurrency",
      text(fn.Concurrency?.ReservedConcurrentExecutions),
      text(config.reservedConcurrency),
    ],
    ...[...new Set([...Object.keys(wantedEnv), ...Object.keys(actualEnv)])]
      .filter((k) => k !== "SOURCE_BUCKET" && k !== "DEST_BUCKET")
      .sort()
      .map((k): [string, string | undefined, string | undefined] => [
        settingOf(k),
        actualEnv[k],
        wantedEnv[k],
      ]),
  ];
  return pairs
    .filter(([, deployed, configured]) => deployed !== configured)
    .map(([setting, deployed, configured]) => ({ setting, deployed, configured }));
}

/** What the function runs and how it stands. */
export interface Status {
  readonly functionName: string;
  readonly region: string;
  readonly image?: string;
  readonly digest?: string;
  /** The image's tags; undefined when it is not in the deployment's repository. */
  readonly tags?: readonly string[];
  readonly commit?: string;
  readonly architecture?: string;
  readonly state?: string;
  readonly lastUpdate?: string;
  readonly lastUpdateReason?: string;
  readonly lastModified?: string;
  readonly repository: string;
  readonly drift: readonly Drift[];
  readonly overrides: readonly string[];
}

export async function readStatus(
  clients: { readonly lambda: LambdaClient; readonly ecr: ECRClient },
  target: DeploymentTarget,
): Promise<Status> {
  const fn = await readFunction(clients.lambda, target);
  const repository = await deploymentRepository(clients.ecr, target);
  const image = fn.Code?.ResolvedImageUri;
  const pinned = image === undefined ? undefined : splitImageUri(image);
  const found =
    pinned?.url === repository.url
      ? await findImage(clients.ecr, repository, { imageDigest: pinned.digest })
      : undefined;
  const c = fn.Configuration ?? {};
  return {
    functionName: target.functionName,
    region: target.region,
    image,
    digest: pinned?.digest,
    tags: found?.tags,
    commit: found === undefined ? undefined : commitOf(found.tags),
    architecture: c.Architectures?.[0],
    state: c.State,
    lastUpdate: c.LastUpdateStatus,
    lastUpdateReason: c.LastUpdateStatusReason,
    lastModified: c.LastModified,
    repository: repository.url,
    drift: settingsDrift(fn, target.config),
    overrides: target.overrides,
  };
}

const shown = (value: string | undefined) => (value === undefined ? "(not set)" : value);

/** The status as lines for a person. */
export function formatStatus(s: Status): string[] {
  const tags =
    s.tags === undefined
      ? `(the image is not in ${s.repository})`
      : s.tags.length === 0
        ? "(none)"
        : s.tags.join(", ");
  const update = [s.lastUpdate, s.lastUpdateReason].filter(Boolean).join(": ");
  const lines = [
    `function      ${s.functionName} (${s.region}), ${shown(s.state)}`,
    `image         ${shown(s.image)}`,
    `digest        ${shown(s.digest)}`,
    `commit        ${s.commit ?? "unknown: no commit tag on the image"}`,
    `tags          ${tags}`,
    `architecture  ${shown(s.architecture)}`,
    `last update   ${update || "(unknown)"}${s.lastModified ? ` at ${s.lastModified}` : ""}`,
  ];
  if (s.drift.length === 0) {
    lines.push("settings      as cdktf.json gives them: no drift");
  } else {
    lines.push("settings      drifted from what cdktf.json gives (npm run deploy applies it):");
    for (const d of s.drift) {
      lines.push(
        `  ${d.setting}: deployed ${shown(d.deployed)}, configured ${shown(d.configured)}`,
      );
    }
  }
  for (const o of s.overrides) lines.push(`  (${o}, in this environment)`);
  return lines;
}

const USAGE = `Usage: npm run status [-- --json]

Says what the deployment named by cdktf.json (and THUMBNAILER_NAME / THUMBNAILER_REGION in the
environment) runs: the function's image (Code.ResolvedImageUri) and digest, the commit its tags
name (a 40-hex tag, or commit-<amd64|arm64>-SHA), its tags (deployed, previous, ...), the
function's architecture, state and last update; then every setting where the function differs
from what the settings would give it (architecture, memory, timeout, reserved concurrency and
each environment variable the stack sets), e.g. after a change to cdktf.json not yet deployed,
or a change made by hand in the console. Reads only; changes nothing.

Options:
  --json   the same as one JSON object
  --help   show this help
`;

async function main(args: string[]): Promise<number> {
  const values = parseOptions(args, { json: { type: "boolean" } });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const target = deploymentTarget(process.cwd(), process.env);
  const config = clientConfig({ region: target.region });
  const clients = { lambda: new LambdaClient(config), ecr: new ECRClient(config) };
  const status = await readStatus(clients, target);
  const out = values.json === true ? [JSON.stringify(status, null, 2)] : formatStatus(status);
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}

if (require.main === module) runTool(main, USAGE);
