/**
 * What `backfill --batch --dry-run` shows when there are no deployment outputs to read (never
 * deployed from this folder, or deployed elsewhere): the Lambda stack's backfill outputs as
 * `cdktf synth` wrote them (cdktf.out/stacks/<stack>/cdk.tf.json), so the names are the stacks'
 * own. Literal values are taken as written, cross-stack references are followed to the stack that
 * makes the value, and the ARNs Terraform would compute are built from the names. Only AWS can
 * tell the account and partition: they stay placeholders.
 */

import path from "node:path";
import { readSynthStacks, type StackJson, withAccount } from "../../ops/planned-names";
import { type Deployment, DeploymentError, OUTPUTS } from "./deployment";

export const UNKNOWN_ACCOUNT = "<account>";
export const UNKNOWN_PARTITION = "<partition>";

type Get = (argument: string, fallback?: string) => string;

/** The ARNs Terraform computes after creating a resource, from the resource's own arguments. */
const COMPUTED_ARNS: Record<string, (get: Get, region: string) => string> = {
  aws_lambda_function: (get, region) =>
    `arn:${UNKNOWN_PARTITION}:lambda:${region}:${UNKNOWN_ACCOUNT}:function:${get("function_name")}`,
  aws_iam_role: (get) =>
    `arn:${UNKNOWN_PARTITION}:iam::${UNKNOWN_ACCOUNT}:role${get("path", "/")}${get("name")}`,
};

/** The deployment `cdktf synth` wrote to `outdir`, the account and partition left as placeholders. */
export function readSynthDeployment(outdir: string): Deployment {
  const stacks = readStacks(outdir);
  const lambda = stacks.find((stack) => stack.output?.[OUTPUTS.functionArn] !== undefined);
  const region = lambda?.provider?.aws?.[0]?.region;
  if (lambda === undefined || region === undefined) {
    throw new DeploymentError(
      `no synthesized Lambda stack with the "${OUTPUTS.functionArn}" output in ${outdir}: npm run synth`,
    );
  }

  const resolve = (stack: StackJson, value: unknown, what: string): string => {
    if (typeof value !== "string") throw cannot(what, value);
    const remote = /^\$\{data\.terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)\}$/.exec(value);
    if (remote !== null) {
      const name = remote[1] ?? "";
      const producer = stacks.find((other) => other.output?.[name] !== undefined);
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
      if (name === "arn" && computed !== undefined) return computed(get, region);
      return get(name);
    }
    const text = withAccount(value, UNKNOWN_ACCOUNT);
    if (text.includes("${")) throw cannot(what, value);
    return text;
  };
  const output = (field: keyof typeof OUTPUTS): string =>
    resolve(lambda, lambda.output?.[OUTPUTS[field]]?.value, OUTPUTS[field]);

  return {
    functionArn: output("functionArn"),
    sourceBucket: output("sourceBucket"),
    sourcePrefix: output("sourcePrefix"),
    sourceSuffix: output("sourceSuffix"),
    destinationBucket: output("destinationBucket"),
    roleArn: output("roleArn"),
    reportPrefix: output("reportPrefix"),
    partition: UNKNOWN_PARTITION,
    region,
    accountId: UNKNOWN_ACCOUNT,
  };
}

function readStacks(outdir: string): StackJson[] {
  try {
    return readSynthStacks(outdir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new DeploymentError(
      `no synthesized stacks in ${path.join(outdir, "stacks")}: npm run synth`,
    );
  }
}

function cannot(output: string, value: unknown): DeploymentError {
  return new DeploymentError(
    `the synthesized "${output}" output (${JSON.stringify(value)}) is known only once deployed`,
  );
}
