/**
 * The names a synthesized deployment will give its resources, and where its state lives, from
 * the deployment model (ops/deployment.ts) of `cdktf synth`'s output, so the scripts check
 * exactly what Terraform will create or delete:
 *
 *   node dist/ops/planned-names.js OUTDIR ACCOUNT
 *
 * prints one "KIND NAME" line per named resource (bucket, ecr-repository, log-group, role,
 * function, queue, alarm), "reserved-concurrency FUNCTION N" for a function with reserved concurrency,
 * "region REGION", and "state-local PATH" or "state-s3 BUCKET KEY REGION" per stack. The scripts
 * synthesize OUTDIR a moment before, from the same settings: it is not checked against them.
 */
import { type DeploymentModel, deploymentModel, readSynthStacks } from "./deployment";

/**
 * Terraform type -> [kind printed, attribute holding the name]: how a Terraform state's resources
 * (ops/preflight.ts) are named in the lines plannedNames prints.
 */
export const NAMED: Readonly<Record<string, readonly [string, string]>> = {
  aws_s3_bucket: ["bucket", "bucket"],
  aws_ecr_repository: ["ecr-repository", "name"],
  aws_cloudwatch_log_group: ["log-group", "name"],
  aws_iam_role: ["role", "name"],
  aws_lambda_function: ["function", "function_name"],
  aws_sqs_queue: ["queue", "name"],
  aws_cloudwatch_metric_alarm: ["alarm", "alarm_name"],
};

export function plannedNames(model: DeploymentModel): string[] {
  const named: [string, readonly string[]][] = [
    ["bucket", model.buckets],
    ["ecr-repository", model.ecrRepositories],
    ["log-group", model.logGroups],
    ["role", model.roles],
    ["function", [model.functionName]],
    ["queue", model.queues],
    ["alarm", model.alarms],
  ];
  return [
    ...named.flatMap(([kind, names]) => names.map((name) => `${kind} ${name}`)),
    ...(model.reservedConcurrency === undefined
      ? []
      : [`reserved-concurrency ${model.functionName} ${model.reservedConcurrency}`]),
    `region ${model.region}`,
    ...model.state.map(({ location: state }) =>
      state.kind === "local"
        ? `state-local ${state.path}`
        : `state-s3 ${state.bucket} ${state.key} ${state.region}`,
    ),
  ];
}

if (require.main === module) {
  const [outdir, account] = process.argv.slice(2);
  if (outdir === undefined || account === undefined) {
    console.error("usage: planned-names.js OUTDIR ACCOUNT");
    process.exitCode = 2;
  } else {
    const model = deploymentModel(readSynthStacks(outdir), { account });
    for (const line of plannedNames(model)) process.stdout.write(`${line}\n`);
  }
}
