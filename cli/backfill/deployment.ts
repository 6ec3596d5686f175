/**
 * What `backfill --batch` needs from the deployed pipeline, read from the Lambda stack's outputs
 * (stacks/lambda-stack.ts), never typed by hand: from a file written by
 * `npx cdktf output lambda --outputs-file FILE` (or `cdktf deploy --outputs-file`, or
 * `--json > FILE`), or else from `terraform output -json` in the synthesized stack's folder,
 * which is what `cdktf output` reads.
 */

import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

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

/** Output names (stacks/lambda-stack.ts) for each field. */
export const OUTPUTS = {
  functionArn: "function-arn",
  sourceBucket: "source-bucket",
  sourcePrefix: "source-prefix",
  sourceSuffix: "source-suffix",
  destinationBucket: "destination-bucket",
  roleArn: "backfill-role-arn",
  reportPrefix: "backfill-report-prefix",
} as const;

/** Where `cdktf synth` writes the stacks (cdktf.json's default output folder). */
export const SYNTH_DIR = "cdktf.out";

/** The synthesized Lambda stack, where `cdktf deploy` ran `terraform init`. */
export const STACK_DIR = path.join(SYNTH_DIR, "stacks", "lambda");

const HOW_TO_GET = `deploy first (npm run deploy), then run this from the project folder, or write the outputs with
  npx cdktf output lambda --outputs-file backfill-outputs.json
and pass --outputs backfill-outputs.json`;

export class DeploymentError extends Error {
  override readonly name = "DeploymentError";
}

/** The deployment's outputs from `file`, or from the synthesized stack when no file is given. */
export async function readDeployment(file: string | undefined): Promise<Deployment> {
  const outputs = file === undefined ? await terraformOutputs() : await fileOutputs(file);
  const values: Record<string, string> = {};
  for (const [field, name] of Object.entries(OUTPUTS)) {
    const value = find(outputs, loose(name));
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

/** Names compared without case, "-" and "_" ("backfill-role-arn" is cdktf's "backfillRoleArn"). */
const loose = (name: string) => name.toLowerCase().replace(/[-_]/g, "");

/**
 * The output named `wanted` anywhere in `tree`: flat ({name: value}), per stack
 * ({lambda: {name: value}}) or as Terraform prints it ({name: {value}}). Empty strings count.
 */
function find(tree: unknown, wanted: string): string | undefined {
  if (typeof tree !== "object" || tree === null) return undefined;
  for (const [name, value] of Object.entries(tree)) {
    if (loose(name) === wanted) {
      if (typeof value === "string") return value;
      const inner = (value as { value?: unknown } | null)?.value;
      if (typeof inner === "string") return inner;
    }
  }
  for (const value of Object.values(tree)) {
    const found = find(value, wanted);
    if (found !== undefined) return found;
  }
  return undefined;
}
