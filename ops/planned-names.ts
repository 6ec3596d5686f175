/**
 * The names a synthesized deployment will give its resources, and where its state lives, read
 * from `cdktf synth`'s output, so the scripts check exactly what Terraform will create or delete:
 *
 *   node dist/ops/planned-names.js OUTDIR ACCOUNT
 *
 * prints one "KIND NAME" line per named resource (bucket, ecr-repository, log-group, role,
 * function, queue), "reserved-concurrency FUNCTION N" for a function with reserved concurrency,
 * "region REGION", and "state-local PATH" or "state-s3 BUCKET KEY REGION" per stack. Bucket names
 * hold the account ID as a reference to the repository's registry ID; ACCOUNT resolves it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Terraform type -> [kind printed, attribute holding the name]. */
const NAMED: Readonly<Record<string, readonly [string, string]>> = {
  aws_s3_bucket: ["bucket", "bucket"],
  aws_ecr_repository: ["ecr-repository", "name"],
  aws_cloudwatch_log_group: ["log-group", "name"],
  aws_iam_role: ["role", "name"],
  aws_lambda_function: ["function", "function_name"],
  aws_sqs_queue: ["queue", "name"],
};

/** The parts of a synthesized stack (cdktf.out/stacks/<stack>/cdk.tf.json) that are read. */
export interface StackJson {
  provider?: { aws?: { region?: string }[] };
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value?: unknown }>;
  terraform?: { backend?: { local?: { path: string }; s3?: Record<string, string> } };
}

/** Every stack `cdktf synth` wrote to `outdir`, in name order. */
export function readSynthStacks(outdir: string): StackJson[] {
  const stacksDir = join(outdir, "stacks");
  return readdirSync(stacksDir)
    .sort()
    .map(
      (stack) =>
        JSON.parse(readFileSync(join(stacksDir, stack, "cdk.tf.json"), "utf8")) as StackJson,
    );
}

/** A synthesized name with the account ID (held as the ECR repository's registry ID) filled in. */
export function withAccount(raw: string, account: string): string {
  return raw.replace(/\$\{aws_ecr_repository\.[\w-]+\.registry_id\}/g, account);
}

export function plannedNames(outdir: string, account: string): string[] {
  const lines: string[] = [];
  for (const json of readSynthStacks(outdir)) {
    for (const [type, [kind, attribute]] of Object.entries(NAMED)) {
      for (const resource of Object.values(json.resource?.[type] ?? {})) {
        const raw = resource[attribute];
        if (typeof raw !== "string") continue;
        const name = withAccount(raw, account);
        if (!name.includes("${")) lines.push(`${kind} ${name}`);
      }
    }
    for (const fn of Object.values(json.resource?.aws_lambda_function ?? {})) {
      const reserved = fn.reserved_concurrent_executions;
      if (typeof fn.function_name === "string" && typeof reserved === "number")
        lines.push(`reserved-concurrency ${fn.function_name} ${reserved}`);
    }
    const region = json.provider?.aws?.[0]?.region;
    if (region !== undefined && !lines.includes(`region ${region}`)) lines.push(`region ${region}`);
    const backend = json.terraform?.backend;
    if (backend?.local) lines.push(`state-local ${backend.local.path}`);
    if (backend?.s3)
      lines.push(`state-s3 ${backend.s3.bucket} ${backend.s3.key} ${backend.s3.region}`);
  }
  return lines;
}

if (require.main === module) {
  const [outdir, account] = process.argv.slice(2);
  if (outdir === undefined || account === undefined) {
    console.error("usage: planned-names.js OUTDIR ACCOUNT");
    process.exitCode = 2;
  } else {
    for (const line of plannedNames(outdir, account)) process.stdout.write(`${line}\n`);
  }
}
