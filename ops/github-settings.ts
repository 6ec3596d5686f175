/**
 * The GitHub repository variables and secret the deploy workflow reads (.github/workflows/deploy.yml):
 * where each value comes from, and whether the repository's current ones are this deployment's.
 * A deployment never changes nor deletes another deployment's: they are this deployment's when
 * each of LAMBDA_FUNCTION_NAME and AWS_REGION is unset or names this deployment's function and
 * region (cdktf.json's context with THUMBNAILER_* variables over it, as a synth reads it).
 *
 *   node dist/ops/github-settings.js names              "KIND NAME" per setting, in order
 *   node dist/ops/github-settings.js values OUTPUTS     "NAME VALUE" per setting the deploy
 *       outputs (a `cdktf deploy --outputs-file` file), and AWS_REGION (the ECR repository's)
 *   node dist/ops/github-settings.js owner bootstrap|destroy REPO < VARIABLES
 *       VARIABLES is `gh variable list --json name,value`; exits 0 when they are this
 *       deployment's, else 3, printing whose they are (and, for bootstrap, how to go on)
 *
 * Run from the project root. scripts/bootstrap.sh sets them, scripts/destroy.sh deletes them.
 */
import { readFileSync } from "node:fs";
import { messageOf, runNamed } from "./run-tool";
import { stackOutput } from "./stack-output";
import { deploymentConfig } from "./terraform-state";

export interface GithubSetting {
  readonly kind: "variable" | "secret";
  readonly name: string;
  /** The stack outputs it may come from (stacks/lambda-stack.ts), matched loosely; none: derived. */
  readonly outputs?: readonly string[];
}

/** Every setting bootstrap.sh makes, in the order it makes them. */
export const GITHUB_SETTINGS: readonly GithubSetting[] = [
  { kind: "variable", name: "AWS_REGION" }, // the ECR repository URL's region
  { kind: "variable", name: "ECR_REPOSITORY", outputs: ["repository-url", "ecr-repository-url"] },
  {
    kind: "variable",
    name: "LAMBDA_FUNCTION_NAME",
    outputs: ["function-name", "lambda-function-name"],
  },
  { kind: "variable", name: "LAMBDA_ARCHITECTURE" }, // the deployed function's (bootstrap.sh)
  { kind: "variable", name: "SOURCE_BUCKET", outputs: ["source-bucket", "source-bucket-name"] },
  {
    kind: "variable",
    name: "DEST_BUCKET",
    outputs: ["destination-bucket", "destination-bucket-name", "dest-bucket"],
  },
  {
    kind: "secret",
    name: "AWS_DEPLOY_ROLE_ARN",
    outputs: ["deploy-role-arn", "github-deploy-role-arn"],
  },
];

/** The values the deploy's outputs give, by setting name, with AWS_REGION from the repository URL. */
export function settingValues(outputs: object): Map<string, string> {
  const values = new Map<string, string>();
  for (const { name, outputs: names } of GITHUB_SETTINGS) {
    if (names === undefined) continue;
    const value = stackOutput(outputs, names);
    if (value === undefined) {
      throw new Error(`the deploy did not output ${name} (expected one of: ${names.join(", ")})`);
    }
    values.set(name, value);
  }
  // <account>.dkr.ecr.<region>.amazonaws.com/<name>: the region everything was deployed to
  const url = values.get("ECR_REPOSITORY") ?? "";
  const region = /\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/.exec(url)?.[1];
  if (region === undefined) throw new Error(`the repository URL ${url} names no region`);
  return new Map([["AWS_REGION", region], ...values]);
}

/** The two variables that say which deployment a repository deploys to. */
const OWNER_VARIABLES = { LAMBDA_FUNCTION_NAME: "functionName", AWS_REGION: "region" } as const;

export interface Deployment {
  readonly functionName: string;
  readonly region: string;
}

/** The variables (of `current`) that name another deployment than `ours`; none: they are ours. */
export function foreignVariables(
  current: readonly { name: string; value: string }[],
  ours: Deployment,
): { name: string; value: string }[] {
  const owning = current.filter((v) => v.name in OWNER_VARIABLES && v.value !== "");
  const foreign = owning.some(
    (v) => v.value !== ours[OWNER_VARIABLES[v.name as keyof typeof OWNER_VARIABLES]],
  );
  return foreign ? owning : [];
}

/** What bootstrap.sh (refusing) or destroy.sh (leaving them alone) says about another's settings. */
export function describeForeign(
  script: "bootstrap" | "destroy",
  repository: string,
  foreign: readonly { name: string; value: string }[],
  ours: Deployment,
): string {
  const theirs = foreign.map((v) => `${v.name}=${v.value}`).join(", ");
  const whose = `the deploy settings of ${repository} belong to another deployment: ${theirs} (this one is ${ours.functionName} in ${ours.region})`;
  if (script === "destroy") return `left alone: ${whose}`;
  const name = foreign.find((v) => v.name === "LAMBDA_FUNCTION_NAME")?.value ?? "NAME";
  const region = foreign.find((v) => v.name === "AWS_REGION")?.value ?? "REGION";
  const deletes = foreign.map((v) => `gh variable delete ${v.name} --repo ${repository}`);
  return (
    `${whose}, and a deployment never changes another's. Either destroy that one first ` +
    `(scripts/destroy.sh --name ${name} --region ${region}), or configure another repository ` +
    `(--repo OWNER/NAME), or, if that deployment no longer exists, run ${deletes.join("; ")} and retry`
  );
}

function main([command, ...args]: string[]): number {
  switch (command) {
    case "names":
      for (const { kind, name } of GITHUB_SETTINGS) process.stdout.write(`${kind} ${name}\n`);
      return 0;
    case "values": {
      const [file] = args;
      if (file === undefined) break;
      const outputs = JSON.parse(readFileSync(file, "utf8")) as object;
      for (const [name, value] of settingValues(outputs))
        process.stdout.write(`${name} ${value}\n`);
      return 0;
    }
    case "owner": {
      const [script, repository] = args;
      if ((script !== "bootstrap" && script !== "destroy") || repository === undefined) break;
      const config = deploymentConfig(process.cwd(), process.env);
      const ours = { functionName: config.name, region: config.region };
      const current = JSON.parse(readFileSync(0, "utf8")) as { name: string; value: string }[];
      const foreign = foreignVariables(current, ours);
      if (foreign.length === 0) return 0;
      process.stdout.write(`${describeForeign(script, repository, foreign, ours)}\n`);
      return 3;
    }
  }
  console.error(
    "usage: github-settings.js names | values OUTPUTS_FILE | owner bootstrap|destroy REPO < VARIABLES_JSON",
  );
  return 2;
}

if (require.main === module) runNamed("github-settings", main, messageOf);
