/**
 * What this deployment made, read from a stack's deployed Terraform state (a local file or an S3
 * object, stacks/stack-base.ts stateLocation) rather than from tags or names, for the decisions
 * that must tell this deployment's resources from anyone else's:
 *
 *   node dist/ops/terraform-state.js STACK
 *
 * prints that stack's state (nothing when it has none). Run from the project root: the
 * deployment is cdktf.json's context with THUMBNAILER_* variables over it, as a synth reads it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type InfraConfig, readInfraConfig } from "../stacks/config";
import { readPersisted } from "../stacks/persisted-settings";
import { type StateLocation, stateLocation } from "../stacks/stack-base";
import { clientConfig, describeError, isAbsent } from "./aws";
import { messageOf, runNamed } from "./run-tool";

/** The deployment as a synth in `root` reads it: cdktf.json's context, `env` over it. */
export function deploymentConfig(root: string, env: NodeJS.ProcessEnv): InfraConfig {
  const persisted = readPersisted(join(root, "cdktf.json"));
  return readInfraConfig({ context: (key) => persisted[key], env });
}

/** Where the deployment in `root` keeps the state of stack `stack`. */
export function deployedStateLocation(
  root: string,
  env: NodeJS.ProcessEnv,
  stack: string,
): StateLocation {
  return stateLocation(deploymentConfig(root, env), stack, root);
}

/** A state that exists but cannot be read (no access, a network failure). */
export class StateReadError extends Error {
  override readonly name = "StateReadError";
}

/** The state's text ("" when there is none yet); fails, saying where, when it cannot be read. */
export async function readState(location: StateLocation, s3?: S3Client): Promise<string> {
  if (location.kind === "local") {
    return existsSync(location.path) ? readFileSync(location.path, "utf8") : "";
  }
  const client = s3 ?? new S3Client(clientConfig({ region: location.region }));
  try {
    const object = await client.send(
      new GetObjectCommand({ Bucket: location.bucket, Key: location.key }),
    );
    return (await object.Body?.transformToString("utf8")) ?? "";
  } catch (error) {
    if (isAbsent(error)) return "";
    throw new StateReadError(
      `cannot read the Terraform state s3://${location.bucket}/${location.key}: ${describeError(error)}`,
    );
  }
}

interface State {
  resources?: {
    mode?: string;
    type?: string;
    instances?: { attributes?: Record<string, unknown> }[];
  }[];
}

/** The attributes of every instance of managed resources of `type` (none without state). */
export function stateInstances(stateJson: string, type: string): Record<string, unknown>[] {
  if (stateJson.trim() === "") return [];
  const state = JSON.parse(stateJson) as State;
  return (state.resources ?? [])
    .filter((r) => r.mode === "managed" && r.type === type)
    .flatMap((r) => r.instances ?? [])
    .map((i) => i.attributes ?? {});
}

async function main([stack]: string[]): Promise<number> {
  if (stack === undefined) {
    console.error("usage: terraform-state.js STACK");
    return 2;
  }
  process.stdout.write(await readState(deployedStateLocation(process.cwd(), process.env, stack)));
  return 0;
}

if (require.main === module) runNamed("terraform-state", main, messageOf);
