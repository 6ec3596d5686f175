/**
 * The CDKTF app: reads the configuration once (stacks/config.ts: environment variables win over
 * cdktf.json context), hashes the image inputs, and builds the two stacks.
 *
 *   npx cdktf synth | deploy '*' | destroy '*'     (see docs/deploy.md)
 */
import { App } from "cdktf";
import type { Construct } from "constructs";
import { ThumbnailError } from "./handler/errors";
import { type InfraConfig, readInfraConfig } from "./stacks/config";
import { DependenciesStack } from "./stacks/dependencies-stack";
import { hashImageInputs, imageInputs } from "./stacks/image-inputs";
import { LambdaStack } from "./stacks/lambda-stack";
import { describeOverride, overrides } from "./stacks/persisted-settings";

export interface BuildOptions {
  /** The project root: build context of the image, and where local state files live. */
  readonly projectRoot: string;
  /** The image inputs (imageInputs(projectRoot)) and their hash (hashImageInputs). */
  readonly imageInputs: readonly string[];
  readonly imageInputsHash: string;
}

/** The tag the deploy pushes: the configured one, or one derived from the image inputs. */
export function imageTag(config: InfraConfig, imageInputsHash: string): string {
  return config.imageTag ?? `${config.architecture}-${imageInputsHash.slice(0, 16)}`;
}

/** Adds the deployment's two stacks to `app`; the Lambda stack reads the other's plain values. */
export function buildStacks(app: Construct, config: InfraConfig, options: BuildOptions) {
  const base = { config, stateDir: options.projectRoot };
  const dependencies = new DependenciesStack(app, "dependencies", base);
  const lambda = new LambdaStack(app, "lambda", {
    ...base,
    image: {
      projectRoot: options.projectRoot,
      inputsHash: options.imageInputsHash,
      inputs: options.imageInputs,
      tag: imageTag(config, options.imageInputsHash),
    },
    accountId: dependencies.accountId,
    sourceBucketName: dependencies.sourceBucketName,
    sourceBucketArn: dependencies.sourceBucketArn,
    destinationBucketName: dependencies.destinationBucketName,
    repositoryName: dependencies.repositoryName,
    repositoryUrl: dependencies.repositoryUrl,
    executionRoleArn: dependencies.executionRoleArn,
    failureQueueArn: dependencies.failureQueueArn,
    failureQueueName: dependencies.failureQueueName,
    failureQueueUrl: dependencies.failureQueueUrl,
    backfillRoleArn: dependencies.backfillRoleArn,
    backfillReportPrefix: dependencies.backfillReportPrefix,
    deployRoleArn: dependencies.deployRoleArn,
    deployRoleName: dependencies.deployRoleName,
  });
  return { dependencies, lambda };
}

function main(): void {
  const app = new App();
  const context = (key: string) => app.node.tryGetContext(key);
  let config: InfraConfig;
  try {
    config = readInfraConfig({ context, env: process.env });
  } catch (error) {
    if (!(error instanceof ThumbnailError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  // The environment wins for this run only: say where it differs from what the deployment was
  // made with (cdktf.json context), so a one-off run is never mistaken for the persisted setup.
  for (const override of overrides(context, process.env)) {
    console.error(`warning: ${describeOverride(override)}: for this run only (docs/deploy.md)`);
  }
  // cdktf runs the app from the project root (where cdktf.json is).
  const projectRoot = process.cwd();
  const inputs = imageInputs(projectRoot);
  buildStacks(app, config, {
    projectRoot,
    imageInputs: inputs,
    imageInputsHash: hashImageInputs(projectRoot, inputs),
  });
  app.synth();
}

if (require.main === module) main();
