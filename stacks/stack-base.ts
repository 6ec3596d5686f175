/** What every stack of a deployment shares: the AWS provider with default tags, and where state lives. */

import { join } from "node:path";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { LocalBackend, S3Backend, type TerraformStack } from "cdktf";
import type { InfraConfig } from "./config";

export interface StackBaseProps {
  readonly config: InfraConfig;
  /** Folder for local state files (the project root); unused with a state bucket. */
  readonly stateDir: string;
}

/** Tags on every resource that supports them (the provider's default_tags). */
export function defaultTags(config: InfraConfig): Record<string, string> {
  return { Project: "thumbnailer", Deployment: config.name, ManagedBy: "cdktf" };
}

/**
 * Tag on an account-wide resource this deployment creates that others may reuse (the GitHub OIDC
 * provider), naming the deployment (name and region) that made it, for people: ownership is decided
 * from Terraform state (ops/github-oidc.ts), since deployments made before the tag have none.
 */
export function ownerTag(config: InfraConfig): Record<string, string> {
  return { "thumbnailer:deployment": `${config.name}-${config.region}` };
}

/** IAM's limit on role names. */
const IAM_ROLE_NAME_MAX = 64;

/**
 * The name of an IAM role of this deployment. Role names are account-wide, not regional, so they
 * carry the region: deployments of one name in two regions do not collide.
 */
export function roleName(config: InfraConfig, purpose: string): string {
  const name = `${config.name}-${config.region}-${purpose}`;
  if (name.length > IAM_ROLE_NAME_MAX) {
    throw new Error(`IAM role name ${name} is longer than ${IAM_ROLE_NAME_MAX} characters`);
  }
  return name;
}

/** Where a stack's Terraform state lives: a local file, or an S3 object. */
export type StateLocation =
  | { readonly kind: "local"; readonly path: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly key: string; readonly region: string };

/**
 * One file or S3 object per deployment (name and region) and stack, so deployments never share
 * state. Local files live in `stateDir` (the project root).
 */
export function stateLocation(config: InfraConfig, id: string, stateDir: string): StateLocation {
  if (config.stateBucket === undefined) {
    const path = join(stateDir, `terraform.${config.name}-${config.region}-${id}.tfstate`);
    return { kind: "local", path };
  }
  return {
    kind: "s3",
    bucket: config.stateBucket,
    key: `${config.name}/${config.region}/${id}.tfstate`,
    region: config.stateRegion ?? config.region,
  };
}

/** Configures the AWS provider and the state backend of `stack`. */
export function configureStack(stack: TerraformStack, id: string, props: StackBaseProps): void {
  const { config } = props;
  new AwsProvider(stack, "aws", {
    region: config.region,
    defaultTags: [{ tags: defaultTags(config) }],
  });

  // State
  const state = stateLocation(config, id, props.stateDir);
  if (state.kind === "local") {
    new LocalBackend(stack, { path: state.path });
  } else {
    const backend = new S3Backend(stack, {
      bucket: state.bucket,
      key: state.key,
      region: state.region,
      encrypt: true,
    });
    // S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3BackendConfig lacks the field.
    backend.addOverride("use_lockfile", true);
  }
}
