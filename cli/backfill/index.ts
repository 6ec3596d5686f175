/**
 * `thumbnailer backfill`: thumbnails for objects already in the source bucket, which S3 events
 * never announced. `--direct` lists and processes from this machine (any S3-compatible endpoint);
 * `--batch` creates an S3 Batch Operations job for the deployed function. Both use the handler's
 * own per-object step (handler/backfill-object.ts). Exit codes: 0 all done, 1 any object failed,
 * 2 usage error, 130 interrupted (direct mode: checkpoint written).
 */

import { availableParallelism } from "node:os";
import { createInterface } from "node:readline/promises";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import type { BackfillMode } from "../../handler/backfill-object";
import type { HandlerConfig } from "../../handler/config";
import { configureSharp } from "../../handler/engine";
import { createS3Client } from "../../handler/s3-client";
import {
  type DeploymentModel,
  readDeploymentModel,
  SYNTH_DIR,
  UNKNOWN_ACCOUNT,
  UNKNOWN_PARTITION,
} from "../../ops/deployment";
import { SETTINGS as INFRA_SETTINGS } from "../../stacks/config";
import {
  commandStep,
  flagHelp,
  flagOptions,
  flagText,
  handlerEnvironment,
  parseCommandLine,
  readFlags,
  refuseUnknownVariables,
  usageError,
} from "../setting-flags";
import { SERVICE_SETTINGS, type Setting, THUMBNAIL_SETTINGS, variableOf } from "../settings";
import { runBatch } from "./batch";
import { DEFAULT_CHECKPOINT_FILE } from "./checkpoint";
import {
  type Deployment,
  DeploymentError,
  deployedFilter,
  modelDeployment,
  readDeployment,
  STACK_DIR,
  sameDeployment,
} from "./deployment";
import { directConfig, renditionsText, runDirect } from "./direct";
import { ALLOW_UNRESERVED_FLAG, sourceProblem } from "./preflight";

/** The handler's settings direct mode takes as flags (the same rows, the same checks). */
const HANDLER_FLAGS = {
  sourceBucket: {
    ...SERVICE_SETTINGS.sourceBucket,
    serveDefault: undefined,
    shownDefault: "required",
    doc: "the bucket to backfill",
  },
  destBucket: { ...SERVICE_SETTINGS.destBucket, serveDefault: undefined, shownDefault: "required" },
  sourcePrefix: {
    ...SERVICE_SETTINGS.sourcePrefix,
    doc: "only keys under this prefix",
    shownDefault: `the deployment's for its own source bucket, else ""`,
  },
  destPrefix: {
    ...SERVICE_SETTINGS.destPrefix,
    shownDefault: `the deployment's for its own destination bucket, else ""`,
  },
  endpoint: { ...SERVICE_SETTINGS.endpoint, flag: { name: "endpoint", arg: "URL" } },
  region: {
    ...SERVICE_SETTINGS.region,
    serveDefault: undefined,
    shownDefault: "from the AWS configuration",
    doc: "region of the S3 client",
  },
} as const;

/** The handler's CONCURRENCY row's bounds, as objects in flight here. */
const CONCURRENCY = {
  concurrency: {
    ...SERVICE_SETTINGS.concurrency,
    default: Math.min(4, availableParallelism()),
    doc: "objects processed at once",
  },
};

const HELP = `Usage:
  thumbnailer backfill --direct --source-bucket B --dest-bucket B [options]
  thumbnailer backfill --batch [--force] [--yes] [--wait] [--dry-run] [--outputs FILE]
                              [--${ALLOW_UNRESERVED_FLAG}]

Makes, for every object in the source bucket, each rendition that is missing or outdated (made
from another version of the object, or with another spec); renditions that are up to date are
kept, and an object whose renditions are all up to date is skipped without being downloaded.
--force remakes every rendition.

--direct lists the source bucket from this machine and processes each object here, with the
handler's own code: any S3-compatible endpoint, the standard AWS credential chain (for the
local service \`npm start\`: AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER and
--endpoint http://localhost:4568). Progress on stderr; one JSON line per object made or failed
on stdout with --json; a summary at the end. Ctrl+C stops after the objects in flight and writes
a checkpoint; the same command with --resume continues after it. Run in the project folder, a
backfill of the deployment's own source bucket applies its filter (source prefix and suffix)
and one into its destination bucket its destination prefix, from cdktf.json's synthesized
stacks in ${SYNTH_DIR}; a flag or variable wins.

--batch creates an S3 Batch Operations job for the deployed pipeline: S3 lists the source
bucket itself and invokes the function once per object; failed tasks are reported in the
destination bucket under the backfill report prefix. The function, buckets, prefix and role come
from the deployment's outputs (terraform output in ${STACK_DIR}, or --outputs FILE written by
\`npx cdktf output lambda --outputs-file FILE\`); without them, --dry-run shows the request from
the synthesized stacks in ${SYNTH_DIR} (npm run synth), with ${UNKNOWN_ACCOUNT} and ${UNKNOWN_PARTITION} for
what only AWS can tell. Both must be of the deployment cdktf.json describes (THUMBNAILER_*
variables winning, as in a synth; its stacks synthesized in ${SYNTH_DIR}): a synth or outputs of
another deployment (name, region) are refused. The renditions are the deployed function's own
(its RENDITIONS environment), so --batch takes no --renditions or thumbnail options. A job
invokes the function as fast as Lambda accepts: only the function's reserved concurrency
(${INFRA_SETTINGS.reservedConcurrency.env}) caps it, so --batch refuses a function without one, which
could take the account's whole concurrency, unless --${ALLOW_UNRESERVED_FLAG}. Asks before creating the
job. Needs s3:CreateJob, iam:PassRole on the backfill role and lambda:GetFunctionConcurrency
(docs/deploy.md, "Backfill").

Exit status: 0 all done, 1 any object failed (each is reported with its reason; a configuration
that cannot work stops the run at the first object), 2 usage error, or (--direct) no
credentials, an endpoint that does not answer or a source bucket that cannot be listed, said
before anything starts, or (--batch) no credentials, or a function without reserved concurrency,
said before asking, 130 interrupted.

Options (--batch):
  --outputs FILE          the deployment's outputs [terraform output in ${STACK_DIR}]
  -y, --yes               do not ask before creating the job
  --wait                  follow the job until it ends, then print where its report is
  --dry-run               print the CreateJob request as JSON, send nothing (from the
                          synthesized stacks when there are no outputs)
  --force                 remake every rendition (user argument mode=force)
  --${ALLOW_UNRESERVED_FLAG}      create the job even though the function has no reserved
                          concurrency (or it cannot be read), after a warning

Options (--direct; variable and default in brackets, a flag wins):
${flagHelp(HANDLER_FLAGS, { variables: true })}
  --source-suffix S       only keys ending with this (the notification's suffix); the others
                          are counted as not matched, never read [the deployment's for its own
                          source bucket, else ""]
${flagHelp(CONCURRENCY)}
  --force                 remake every rendition, even up-to-date ones
  --dry-run               list and check only: say what would be made, write nothing
  --json                  one JSON line per object made or failed, on stdout
  --checkpoint FILE       the checkpoint file [${DEFAULT_CHECKPOINT_FILE}]
  --resume                continue after the checkpoint of an interrupted run
  -h, --help              show this help

Thumbnail options. For the deployment's own source bucket (run in the project folder) none are
needed: what is made (renditions, size, format, limits, Cache-Control) is the deployed function's,
read from its environment in ${SYNTH_DIR} by the handler's own code, so a backfilled thumbnail is
the one an upload would have made; a flag or variable that says otherwise is refused (exit 2,
nothing written). For other buckets, give the function's you mean to match, so "up to date"
means the same (--renditions JSON|@FILE takes the list THUMBNAILER_RENDITIONS holds, e.g.
--renditions @renditions.json). In brackets the variable and default: the deployment's names
(a flag wins); a THUMBNAILER_* or THUMB_* variable that is no setting is refused:
${flagHelp(THUMBNAIL_SETTINGS, { variables: true })}
`;

const OPTIONS = {
  direct: { type: "boolean" },
  batch: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  wait: { type: "boolean" },
  outputs: { type: "string" },
  [ALLOW_UNRESERVED_FLAG]: { type: "boolean" },
  "source-suffix": { type: "string" },
  force: { type: "boolean" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  checkpoint: { type: "string" },
  resume: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  ...flagOptions(HANDLER_FLAGS, CONCURRENCY, THUMBNAIL_SETTINGS),
} as const;

type Values = Record<string, string | boolean | undefined>;

export async function run(args: string[]): Promise<number> {
  const parsed = await commandStep("backfill", () => {
    const { values } = parseCommandLine({ args, options: OPTIONS });
    if (!values.help) refuseUnknownVariables(process.env);
    return values as Values;
  });
  if (!parsed.ok) return parsed.exitCode;
  const values = parsed.value;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.direct === values.batch)
    return usageError("backfill", "choose one mode: --direct or --batch");
  const mode: BackfillMode = values.force ? "force" : "missing";
  return values.batch ? batch(values, mode) : direct(values, mode);
}

async function batch(values: Values, mode: BackfillMode): Promise<number> {
  const directOnly = Object.keys(values).filter(
    (name) =>
      !["batch", "force", "dry-run", "yes", "wait", "outputs", ALLOW_UNRESERVED_FLAG].includes(
        name,
      ),
  );
  if (directOnly.length > 0) {
    return usageError(
      "backfill",
      `--${directOnly[0]} is for --direct; --batch reads the deployment's settings`,
    );
  }
  const dryRun = values["dry-run"] === true;
  const outputsFile = typeof values.outputs === "string" ? values.outputs : undefined;
  let deployment: Deployment;
  try {
    deployment = await batchTarget(readDeploymentModel(), outputsFile, dryRun);
  } catch (error) {
    if (!(error instanceof DeploymentError)) throw error;
    return usageError("backfill", error.message);
  }
  const s3 = createS3Client({ region: deployment.region, endpoint: undefined });
  const s3control = new S3ControlClient({ region: deployment.region });
  const lambda = new LambdaClient({ region: deployment.region });
  try {
    return await runBatch({
      deployment,
      mode,
      s3,
      s3control,
      lambda,
      allowUnreserved: values[ALLOW_UNRESERVED_FLAG] === true,
      dryRun,
      wait: values.wait === true,
      confirm: values.yes === true ? async () => true : askOnTerminal,
    });
  } finally {
    s3.destroy();
    s3control.destroy();
    lambda.destroy();
  }
}

/**
 * The deployment a batch job is for: the outputs of the deployment this folder describes
 * (`model`); for a dry run without outputs, the model itself, the account left to AWS.
 */
async function batchTarget(
  model: DeploymentModel,
  outputsFile: string | undefined,
  dryRun: boolean,
): Promise<Deployment> {
  let outputs: Deployment;
  try {
    outputs = await readDeployment(outputsFile);
  } catch (error) {
    // A dry run needs no deployment: the synthesized stacks name everything but the account.
    if (!(error instanceof DeploymentError) || !dryRun || outputsFile !== undefined) throw error;
    process.stderr.write(
      `backfill --batch --dry-run: no deployment outputs (${error.message.split(";")[0]});\n` +
        `  the request is built from the synthesized stacks in ${SYNTH_DIR}; ${UNKNOWN_ACCOUNT} ` +
        `and ${UNKNOWN_PARTITION} are what only AWS can tell\n`,
    );
    return modelDeployment(model);
  }
  const where = outputsFile ?? `terraform output in ${STACK_DIR}`;
  for (const note of sameDeployment(model, outputs, where)) {
    process.stderr.write(`backfill --batch: ${note}\n`);
  }
  return outputs;
}

/** Asks on the terminal; off a terminal there is nobody to ask: --yes is needed. */
async function askOnTerminal(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    process.stderr.write(
      `${question}\nbackfill --batch: stdin is not a terminal; pass --yes to confirm\n`,
    );
    return false;
  }
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await terminal.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    terminal.close();
  }
}

async function direct(values: Values, mode: BackfillMode): Promise<number> {
  for (const setting of [HANDLER_FLAGS.sourceBucket, HANDLER_FLAGS.destBucket]) {
    if (flagText(setting, values, process.env).text === undefined) {
      return usageError(
        "backfill",
        `--direct needs --${setting.flag.name} (or ${variableOf(setting)})`,
      );
    }
  }
  const read = await commandStep("backfill", () => directSettings(values), DIRECT_SETTINGS);
  if (!read.ok) return read.exitCode;
  const { config, concurrency, sourceSuffix } = read.value;
  configureSharp();
  const s3 = createS3Client(config);
  // Credentials, endpoint and bucket are checked before the progress bar, with what to set.
  const problem = await sourceProblem(s3, config);
  if (problem !== undefined) {
    s3.destroy();
    process.stderr.write(`thumbnailer backfill: ${problem}\n`);
    return 2;
  }
  // The first Ctrl+C stops cleanly (checkpoint written); a second one quits at once.
  const stopRequested = new Promise<void>((resolve) => {
    process.once("SIGINT", () => {
      process.once("SIGINT", () => process.exit(130));
      resolve();
    });
  });
  try {
    return await runDirect({
      s3,
      config,
      sourceSuffix,
      mode,
      concurrency,
      dryRun: values["dry-run"] === true,
      json: values.json === true,
      checkpointFile:
        typeof values.checkpoint === "string" ? values.checkpoint : DEFAULT_CHECKPOINT_FILE,
      resume: values.resume === true,
      stopRequested,
    });
  } catch (error) {
    // A checkpoint that cannot be resumed is a usage error; anything else is a bug.
    if (values.resume && error instanceof Error && error.message.startsWith("--resume")) {
      return usageError("backfill", error.message);
    }
    throw error;
  } finally {
    s3.destroy();
  }
}

/** Every row direct mode reads from a flag or variable. */
const DIRECT_SETTINGS = { ...HANDLER_FLAGS, ...THUMBNAIL_SETTINGS };

interface DirectRun {
  readonly config: HandlerConfig;
  readonly concurrency: number;
  readonly sourceSuffix: string;
}

/**
 * A direct run's configuration from its flags and variables, and, for the deployment's own
 * buckets, the deployment: its filter and destination prefix (a flag wins), and what its own
 * source bucket's objects are made into, which is its function's (a flag that differs is refused).
 */
async function directSettings(values: Values): Promise<DirectRun> {
  // Not from THUMBNAILER_CONCURRENCY: that is the function's records at once, not objects.
  const concurrency = readFlags(CONCURRENCY, values).concurrency;
  const where = await handlerEnvironment(HANDLER_FLAGS, values, process.env);
  const thumbnails = await handlerEnvironment(THUMBNAIL_SETTINGS, values, process.env);
  const deployed = deployedFilter(where, modelOfTheBuckets);
  if (deployed.note !== undefined) process.stderr.write(`thumbnailer backfill: ${deployed.note}\n`);
  const config = directConfig({
    where: { ...deployed.environment, ...where },
    whereRows: Object.values(HANDLER_FLAGS),
    thumbnails,
    given: (env) => givenAs(DIRECT_SETTINGS, env, values),
    ...(deployed.deployedFunction === undefined ? {} : { deployed: deployed.deployedFunction }),
  });
  if (deployed.deployedFunction !== undefined) {
    process.stderr.write(
      `thumbnailer backfill: deployment "${deployed.deployedFunction.name}"'s function makes ` +
        `${renditionsText(config)} (from ${SYNTH_DIR}; as an upload would)\n`,
    );
  }
  const suffixFlag = values["source-suffix"];
  const sourceSuffix = typeof suffixFlag === "string" ? suffixFlag : (deployed.sourceSuffix ?? "");
  return { config, concurrency, sourceSuffix };
}

/**
 * The deployment's model, read without the thumbnail settings' variables: they name nothing in
 * it, and one that says otherwise than the synth (even one it could not be synthesized with,
 * e.g. THUMBNAILER_THUMB_WIDTH beside cdktf.json's renditions) is refused by directConfig, not
 * taken for "no deployment" and its buckets backfilled with other thumbnails.
 */
function modelOfTheBuckets(): DeploymentModel {
  const thumbnailVariables = Object.values(THUMBNAIL_SETTINGS).map(variableOf);
  const env = Object.entries(process.env).filter(([name]) => !thumbnailVariables.includes(name));
  return readDeploymentModel({ env: Object.fromEntries(env) });
}

/**
 * How the user gave the row of `table` whose handler name is `env`: "--width 300" or
 * "THUMBNAILER_THUMB_WIDTH=300".
 */
function givenAs(table: Record<string, Setting<unknown>>, env: string, values: Values): string {
  const setting = Object.values(table).find((row) => row.env === env);
  if (setting === undefined) return env;
  const { text = "", source } = flagText(setting, values, process.env);
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return source.startsWith("--") ? `${source} ${shown}` : `${source}=${shown}`;
}
