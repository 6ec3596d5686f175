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
import {
  type DeploymentModel,
  deploymentModel,
  NAME_ATTRIBUTE,
  readSynthStacks,
} from "./deployment";

/**
 * Terraform type -> [kind printed, attribute holding the name]: how a Terraform state's resources
 * (ops/preflight.ts) are named in the lines plannedNames prints.
 */
const KIND: Readonly<Record<keyof typeof NAME_ATTRIBUTE, string>> = {
  aws_s3_bucket: "bucket",
  aws_ecr_repository: "ecr-repository",
  aws_cloudwatch_log_group: "log-group",
  aws_iam_role: "role",
  aws_lambda_function: "function",
  aws_sqs_queue: "queue",
  aws_cloudwatch_metric_alarm: "alarm",
};
export const NAMED: Readonly<Record<string, readonly [string, string]>> = Object.fromEntries(
  Object.entries(NAME_ATTRIBUTE).map(([type, attribute]) => [
    type,
    [KIND[type as keyof typeof NAME_ATTRIBUTE], attribute],
  ]),
);
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
