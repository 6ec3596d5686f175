/**
 * What `backfill --batch` needs from the deployed pipeline, read from the Lambda stack's outputs
 * (stacks/lambda-stack.ts), never typed by hand: from a file written by
 * `npx cdktf output lambda --outputs-file FILE` (or `cdktf deploy --outputs-file`, or
 * `--json > FILE`), or else from `terraform output -json` in the synthesized stack's folder,
 * which is what `cdktf output` reads. The outputs must be those of the deployment this folder
 * describes (ops/deployment.ts): sameDeployment refuses another one's.
 */

import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { SERVICE_SETTINGS as ROWS } from "../../handler/settings";
import {
  DeploymentError,
  type DeploymentModel,
  findOutput,
  OUTPUTS,
  readDeploymentModel,
  SYNTH_DIR,
  sameName,
} from "../../ops/deployment";

export { DeploymentError };

export interface Deployment {
  readonly functionArn: string;
  readonly sourceBucket: string;
  readonly sourcePrefix: string;
  /** Only keys ending with this notify the function ("" = any): the notification's filter. */
  readonly sourceSuffix: string;
  readonly destinationBucket: string;
  readonly roleArn: string;
  readonly reportPrefix: string;
  /** From the function's ARN. */
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

/** The outputs read, and the Deployment field each fills. */
const READ = {
  functionArn: OUTPUTS.functionArn,
  sourceBucket: OUTPUTS.sourceBucket,
  sourcePrefix: OUTPUTS.sourcePrefix,
  sourceSuffix: OUTPUTS.sourceSuffix,
  destinationBucket: OUTPUTS.destinationBucket,
  roleArn: OUTPUTS.backfillRoleArn,
  reportPrefix: OUTPUTS.backfillReportPrefix,
} as const;

/** The synthesized Lambda stack, where `cdktf deploy` ran `terraform init`. */
export const STACK_DIR = path.join(SYNTH_DIR, "stacks", "lambda");

const HOW_TO_GET = `deploy first (npm run deploy), then run this from the project folder, or write the outputs with
  npx cdktf output lambda --outputs-file backfill-outputs.json
and pass --outputs backfill-outputs.json`;

/** The deployment's outputs from `file`, or from the synthesized stack when no file is given. */
export async function readDeployment(file: string | undefined): Promise<Deployment> {
  const outputs = file === undefined ? await terraformOutputs() : await fileOutputs(file);
  const values: Record<string, string> = {};
  for (const [field, name] of Object.entries(READ)) {
    const value = findOutput(outputs, name);
    if (value === undefined) {
      throw new DeploymentError(
        `the deployment's outputs have no "${name}" (${file ?? STACK_DIR}); a deployment made ` +
          `before backfill existed needs a redeploy (npm run deploy). Otherwise ${HOW_TO_GET}`,
      );
    }
    values[field] = value;
  }
  const arn = /^arn:([^:]+):lambda:([^:]+):(\d{12}):function:/.exec(values.functionArn ?? "");
  if (arn === null) {
    throw new DeploymentError(`"function-arn" is not a Lambda function ARN: ${values.functionArn}`);
  }
  const [, partition = "", region = "", accountId = ""] = arn;
  return {
    ...(values as unknown as Omit<Deployment, "partition" | "region" | "accountId">),
    partition,
    region,
    accountId,
  };
}

/** What a backfill of the modelled deployment reads, the account as the model knows it. */
export function modelDeployment(model: DeploymentModel): Deployment {
  return {
    functionArn: model.functionArn,
    sourceBucket: model.sourceBucket,
    sourcePrefix: model.sourcePrefix,
    sourceSuffix: model.sourceSuffix,
    destinationBucket: model.destinationBucket,
    roleArn: model.backfillRoleArn,
    reportPrefix: model.backfillReportPrefix,
    partition: model.partition,
    region: model.region,
    accountId: model.account,
  };
}

/**
 * Throws DeploymentError unless the outputs (read from `where`) are the modelled deployment's:
 * its function, in its region, with its buckets and backfill role. Returns a note for each
 * part of the filter the outputs (as deployed) have otherwise than the settings (not deployed yet).
 */
export function sameDeployment(
  model: DeploymentModel,
  outputs: Deployment,
  where: string,
): string[] {
  const planned = modelDeployment(model);
  const functionOf = (arn: string) => arn.slice(arn.lastIndexOf(":") + 1);
  const identity = ["functionArn", "sourceBucket", "destinationBucket", "roleArn"] as const;
  if (!identity.every((field) => sameName(planned[field], outputs[field]))) {
    throw new DeploymentError(
      `the outputs (${where}) are of function "${functionOf(outputs.functionArn)}" in ${outputs.region}, ` +
        `but cdktf.json describes function "${model.functionName}" in ${model.region}: ` +
        `write this deployment's outputs (npx cdktf output lambda --outputs-file FILE, which ` +
        "readies the stack folder for its state) and pass --outputs FILE; for the other " +
        "deployment, run this where cdktf.json (or THUMBNAILER_NAME, THUMBNAILER_REGION) describes it",
    );
  }
  return (["sourcePrefix", "sourceSuffix"] as const).flatMap((field) =>
    planned[field] === outputs[field]
      ? []
      : [
          `the deployed ${READ[field]} is ${JSON.stringify(outputs[field])}, cdktf.json's ` +
            `${JSON.stringify(planned[field])} is not deployed yet: the deployed one applies`,
        ],
  );
}

/** What `backfill --direct` takes from the deployment (deployedFilter). */
export interface DeployedFilter {
  /** The handler's SOURCE_PREFIX and DEST_PREFIX, as the deployed function has them. */
  readonly environment: Readonly<Record<string, string>>;
  readonly sourceSuffix?: string;
  /** For the deployment's own source bucket: its name and its function's environment. */
  readonly deployedFunction?: {
    readonly name: string;
    readonly environment: Record<string, string>;
  };
  /** What was taken, or why nothing could be, for stderr. */
  readonly note?: string;
}

/**
 * For `backfill --direct` of the deployment this folder describes: when the source bucket
 * (SOURCE_BUCKET in `given`, the handler's environment from flags and variables) is the
 * deployment's, its filter (the notification's prefix and suffix); when the destination bucket
 * is, the function's DEST_PREFIX. What `given` holds wins. Other buckets (the local service, any
 * S3-compatible server) get nothing: their filter is the flags'.
 */
export function deployedFilter(
  given: Readonly<Record<string, string>>,
  readModel: () => DeploymentModel = readDeploymentModel,
): DeployedFilter {
  let model: DeploymentModel;
  try {
    model = readModel();
  } catch (error) {
    if (!(error instanceof DeploymentError)) throw error;
    // Said only for AWS (no endpoint) from a project folder: there, the buckets may be its own.
    const aws =
      given[ROWS.endpoint.env] === undefined && !error.message.startsWith("no cdktf.json");
    return aws
      ? { environment: {}, note: `no deployment's filter applies: ${error.message}` }
      : { environment: {} };
  }
  const source = sameName(model.sourceBucket, given[ROWS.sourceBucket.env] ?? "");
  const dest = sameName(model.destinationBucket, given[ROWS.destBucket.env] ?? "");
  const taken: string[] = [];
  const environment: Record<string, string> = {};
  if (source) {
    environment[ROWS.sourcePrefix.env] = model.sourcePrefix;
    taken.push(
      `source ${given[ROWS.sourceBucket.env]}: prefix ${JSON.stringify(model.sourcePrefix)}, suffix ${JSON.stringify(model.sourceSuffix)}`,
    );
  }
  if (dest) {
    environment[ROWS.destPrefix.env] = model.destinationPrefix;
    taken.push(
      `destination ${given[ROWS.destBucket.env]}: prefix ${JSON.stringify(model.destinationPrefix)}`,
    );
  }
  if (taken.length === 0) return { environment };
  return {
    environment,
    ...(source
      ? {
          sourceSuffix: model.sourceSuffix,
          deployedFunction: { name: model.name, environment: { ...model.functionEnvironment } },
        }
      : {}),
    note: `deployment "${model.name}"'s ${taken.join("; ")} (from ${SYNTH_DIR}; a flag wins)`,
  };
}

async function fileOutputs(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new DeploymentError(`--outputs ${file}: cannot read it; ${HOW_TO_GET}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new DeploymentError(`--outputs ${file} is not JSON; ${HOW_TO_GET}`);
  }
}

async function terraformOutputs(): Promise<unknown> {
  const isDir = await stat(STACK_DIR).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir)
    throw new DeploymentError(`no synthesized Lambda stack in ${STACK_DIR}: ${HOW_TO_GET}`);
  try {
    const { stdout } = await promisify(execFile)("terraform", ["output", "-json"], {
      cwd: STACK_DIR,
      maxBuffer: 1 << 20,
    });
    return JSON.parse(stdout);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new DeploymentError(`terraform output in ${STACK_DIR} failed (${reason}); ${HOW_TO_GET}`);
  }
}
