/**
 * `npm run rollback -- --to previous|sha256:...|COMMIT`: points the deployment's function at an
 * image already in its ECR repository, waits for the update, runs the smoke test
 * (scripts/smoke-test.sh) and, when it passes, tags the image `deployed` and the one it replaced
 * `previous` (ops/image-tags.ts). A deploy cannot do this: it rolls out the checkout's image only
 * when the image inputs changed since the last deploy from this state, so a checkout of an older
 * commit often plans no change at all. See USAGE for the command line.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { ECRClient } from "@aws-sdk/client-ecr";
import { LambdaClient } from "@aws-sdk/client-lambda";
import type { PLATFORM } from "../stacks/rollout";
import { clientConfig } from "./aws";
import { FunctionChangedError, updateCode } from "./function-code";
import {
  commitTag,
  findImage,
  type Image,
  imageArchitecture,
  isDigest,
  type Log,
  markDeployed,
  type Repository,
  splitImageUri,
  toStderr,
} from "./image-tags";
import { parseOptions, runTool, UsageError } from "./run-tool";
import {
  type DeploymentTarget,
  deploymentRepository,
  deploymentTarget,
  readFunction,
} from "./status";
import { commitOf } from "./tag-names";

/** The rollback cannot or must not be made, for the reason given; nothing was changed. */
export class RollbackRefusedError extends Error {
  override readonly name = "RollbackRefusedError";
}

/** What `--to` names, found in the repository. */
export interface RollbackImage extends Image {
  /** How it was found, e.g. "tagged previous" or "commit-amd64-<sha>". */
  readonly how: string;
}

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * The image `to` names in `repository`, for a function of `architecture`: the image tagged
 * `previous`; a digest (alone, or as REPOSITORY_URL@sha256:...); or a commit, by the tags it
 * leaves: commit-<amd64|arm64>-SHA (a local deploy's) or the SHA itself (the deploy workflow's).
 */
export async function resolveTarget(
  ecr: ECRClient,
  repository: Repository,
  to: string,
  architecture: keyof typeof PLATFORM,
): Promise<RollbackImage> {
  const found = async (tag: string) => {
    const image = await findImage(ecr, repository, { imageTag: tag });
    return image === undefined ? undefined : { ...image, how: `tagged ${tag}` };
  };
  const pinned = splitImageUri(to);
  if (pinned !== undefined && pinned.url !== repository.url) {
    throw new RollbackRefusedError(
      `${to} is not in this deployment's repository ${repository.url}: a rollback runs only images the deployment built`,
    );
  }
  const digest = pinned?.digest ?? (isDigest(to) ? to : undefined);
  let image: RollbackImage | undefined;
  if (to === "previous") {
    image = await found("previous");
  } else if (digest !== undefined) {
    const byDigest = await findImage(ecr, repository, { imageDigest: digest });
    image = byDigest && { ...byDigest, how: "by digest" };
  } else if (COMMIT.test(to)) {
    image = (await found(commitTag(architecture, to))) ?? (await found(to));
  } else {
    throw new RollbackRefusedError(
      `--to '${to}' names no image: give previous, sha256:<64 hex>, ${repository.url}@sha256:..., or a 40-hex commit SHA`,
    );
  }
  if (image === undefined) {
    const tags = COMMIT.test(to) ? ` (tags ${commitTag(architecture, to)} or ${to})` : "";
    throw new RollbackRefusedError(`${repository.url} has no image ${to}${tags}`);
  }
  return image;
}

/** What a rollback needs from outside: clients, the smoke test, the operator's answer. */
export interface RollbackContext {
  readonly lambda: LambdaClient;
  readonly ecr: ECRClient;
  readonly target: Pick<DeploymentTarget, "functionName" | "repositoryName" | "region">;
  /** Runs the smoke test against the function; true when it passed. */
  readonly smokeTest: (functionName: string, region: string) => Promise<boolean>;
  /** Asks the operator; true to go ahead. */
  readonly confirm: (question: string) => Promise<boolean>;
  readonly log: Log;
  /** The result, for stdout. */
  readonly say: (line: string) => void;
  /** Longest wait for the function's update, in seconds (default 300). */
  readonly maxWaitSeconds?: number;
}

export interface RollbackOptions {
  readonly to: string;
  readonly yes?: boolean;
  readonly dryRun?: boolean;
}

/** Rolls the function back (see the file's comment); returns the exit code. */
export async function rollback(ctx: RollbackContext, options: RollbackOptions): Promise<number> {
  const { functionName } = ctx.target;
  const fn = await readFunction(ctx.lambda, ctx.target);
  const architecture = (fn.Configuration?.Architectures?.[0] ?? "x86_64") as keyof typeof PLATFORM;
  const running = fn.Code?.ResolvedImageUri ?? "";
  const repository = await deploymentRepository(ctx.ecr, ctx.target);
  const image = await resolveTarget(ctx.ecr, repository, options.to, architecture);
  const uri = `${repository.url}@${image.digest}`;
  const built = await imageArchitecture(ctx.ecr, repository, image.digest);
  if (built !== architecture) {
    throw new RollbackRefusedError(
      `${uri} is built for ${built}, but ${functionName} runs on ${architecture}: it could not start. Roll back to an image of ${architecture}`,
    );
  }
  if (splitImageUri(running)?.digest === image.digest) {
    ctx.say(`${functionName} already runs ${uri}: nothing to roll back`);
    return 0;
  }
  const commit = commitOf(image.tags);
  ctx.log(`${functionName} (${architecture}) runs ${running || "no image"}`);
  ctx.log(`roll back to ${uri} (${image.how}; commit ${commit ?? "unknown"})`);
  if (options.dryRun === true) {
    ctx.log(
      `would update ${functionName} to it, wait, run scripts/smoke-test.sh, then tag it deployed and ${running || "nothing"} previous`,
    );
    return 0;
  }
  if (options.yes !== true && !(await ctx.confirm(`Roll ${functionName} back to ${uri}?`))) {
    ctx.say("nothing changed");
    return 1;
  }
  await update(ctx, { uri, architecture, revision: fn.Configuration?.RevisionId, running });
  if (!(await ctx.smokeTest(functionName, ctx.target.region))) {
    ctx.say(
      `the smoke test failed: ${functionName} now runs ${uri}, which does not pass it. ` +
        `The deployed/previous tags were not moved. To return to what ran before: ` +
        `npm run rollback -- --to ${splitImageUri(running)?.digest ?? running}`,
    );
    return 1;
  }
  await markDeployed(
    ctx.ecr,
    repository,
    { deployed: image.digest, previous: running },
    { log: ctx.log },
  );
  ctx.say(`${functionName} now runs ${uri} and passed the smoke test`);
  return 0;
}

/** Points the function at the image, if it is as read (ops/function-code.ts); then waits. */
async function update(
  ctx: RollbackContext,
  change: { uri: string; architecture: string; revision?: string; running: string },
): Promise<void> {
  const { functionName } = ctx.target;
  try {
    await updateCode(
      ctx.lambda,
      {
        functionName,
        image: change.uri,
        architecture: change.architecture,
        revisionId: change.revision,
        maxWaitSeconds: ctx.maxWaitSeconds,
      },
      ctx.log,
    );
  } catch (error) {
    if (error instanceof FunctionChangedError) {
      throw new RollbackRefusedError(
        `${functionName} changed while the rollback was prepared: nothing rolled back; run it again`,
      );
    }
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${why}; it may still run ${change.running}: npm run status says what it runs. The tags were not moved`,
    );
  }
}

/** scripts/smoke-test.sh against the function, its output on stderr; true when it passed. */
function runSmokeTest(root: string): RollbackContext["smokeTest"] {
  return (functionName, region) =>
    new Promise((resolve, reject) => {
      const script = join(root, "scripts", "smoke-test.sh");
      const child = spawn("bash", [script, "--function-name", functionName, "--region", region], {
        cwd: root,
        stdio: ["ignore", process.stderr, process.stderr],
      });
      child.on("error", reject);
      child.on("close", (code) => resolve(code === 0));
    });
}

/** Asks on stderr; only y or yes goes ahead, and no answer (stdin closed) is a no. */
async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // A question never answered leaves no pending work: Node would exit 0 without a word.
  const closed = new Promise<string>((resolve) => rl.once("close", () => resolve("")));
  try {
    const answer = await Promise.race([rl.question(`${question} [y/N] `), closed]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

const USAGE = `Usage: npm run rollback -- --to previous|sha256:DIGEST|COMMIT [--yes] [--dry-run]

Points the deployment named by cdktf.json (and THUMBNAILER_NAME / THUMBNAILER_REGION in the
environment) at an image already in its ECR repository, with the function's architecture, and
waits for the update; then runs scripts/smoke-test.sh. If it passes, the image is tagged
\`deployed\` and the one it replaced \`previous\` (the tags ECR expiry never removes), so
\`--to previous\` again undoes the rollback. If it fails, the function keeps the image rolled
back to, the tags stay where they were, and the command says how to return (exit 1).

Refused, before anything changes: an image not in the deployment's repository, one built for
another architecture than the function's, or a function that changed while this was prepared.

Options:
  --to TARGET  previous                the image tagged previous (what ran before the last rollout)
               sha256:<64 hex>         an image of the repository, by digest (also REPOSITORY_URL@sha256:...)
               <40-hex commit SHA>     the image of that commit: the tag commit-<amd64|arm64>-SHA
                                       a local deploy records, or the SHA tag of the deploy workflow
  --yes        do not ask before updating the function
  --dry-run    say what it would roll back to, and change nothing
  --help       show this help
`;

async function main(args: string[]): Promise<number> {
  const values = parseOptions(args, {
    to: { type: "string" },
    yes: { type: "boolean" },
    "dry-run": { type: "boolean" },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.to === undefined) throw new UsageError("--to is required");
  const root = process.cwd();
  const target = deploymentTarget(root, process.env);
  for (const line of target.overrides) toStderr(`${line}, in this environment`);
  const config = clientConfig({ region: target.region });
  return rollback(
    {
      lambda: new LambdaClient(config),
      ecr: new ECRClient(config),
      target,
      smokeTest: runSmokeTest(root),
      confirm: ask,
      log: toStderr,
      say: (line) => process.stdout.write(`${line}\n`),
    },
    { to: values.to, yes: values.yes, dryRun: values["dry-run"] },
  );
}

if (require.main === module) runTool(main, USAGE);
