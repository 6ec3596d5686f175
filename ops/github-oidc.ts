/**
 * Which GitHub OIDC provider the deploy role trusts, decided before scripts/bootstrap.sh creates
 * anything. An account has at most one provider for token.actions.githubusercontent.com:
 *
 * - none: the deployment creates one (Terraform owns it);
 * - one the dependencies stack's Terraform state holds: this deployment made it, Terraform keeps
 *   managing it (a tag proves nothing: deployments made before the owner tag have none);
 * - any other (another project's, another deployment's, made by hand): reused, so no deploy
 *   creates a second one and no destroy deletes it. It must accept the client ID
 *   sts.amazonaws.com, the audience the deploy role's trust requires.
 *
 *   node dist/ops/github-oidc.js
 *
 * prints the ARN to persist as githubOidcProviderArn (nothing when the deployment creates or keeps
 * its own, or has no githubRepository), says why on stderr, and exits 1 with the problem when the
 * provider to trust does not accept sts.amazonaws.com. Run from the project root.
 */
import {
  GetOpenIDConnectProviderCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
} from "@aws-sdk/client-iam";
import type { InfraConfig } from "../stacks/config";
import { stateLocation } from "../stacks/stack-base";
import { clientConfig, describeError, isAbsent } from "./aws";
import { runNamed } from "./run-tool";
import { deploymentConfig, readState, StateReadError, stateInstances } from "./terraform-state";

const PROVIDER_SUFFIX = ":oidc-provider/token.actions.githubusercontent.com";
/** The audience GitHub's token carries for AWS, which the deploy role's trust requires. */
export const AUDIENCE = "sts.amazonaws.com";

export type OidcDecision =
  | { readonly kind: "no-repository" }
  | { readonly kind: "configured"; readonly arn: string }
  | { readonly kind: "create" }
  | { readonly kind: "ours"; readonly arn: string }
  | { readonly kind: "reuse"; readonly arn: string };

/** A provider the deployment would trust but cannot: what is wrong and how to fix it. */
export class OidcProviderError extends Error {
  override readonly name = "OidcProviderError";
}

export interface OidcSources {
  readonly iam: IAMClient;
  /** The dependencies stack's deployed state ("" when it has none). */
  readonly dependenciesState: () => Promise<string>;
}

/** The account's GitHub OIDC provider, if it has one. */
async function githubProvider(iam: IAMClient): Promise<string | undefined> {
  // One answer holds them all: the API has no paging.
  const listed = await iam.send(new ListOpenIDConnectProvidersCommand({}));
  return (listed.OpenIDConnectProviderList ?? []).find((p) => p.Arn?.endsWith(PROVIDER_SUFFIX))
    ?.Arn;
}

/** Fails unless the provider `arn` exists and accepts the client ID sts.amazonaws.com. */
async function checkClientIds(iam: IAMClient, arn: string, what: string): Promise<void> {
  let clientIds: string[] | undefined;
  try {
    const provider = await iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }),
    );
    clientIds = provider.ClientIDList;
  } catch (error) {
    if (isAbsent(error)) {
      throw new OidcProviderError(
        `${what} ${arn} does not exist: unset githubOidcProviderArn (cdktf.json context or THUMBNAILER_GITHUB_OIDC_PROVIDER_ARN) to let bootstrap.sh find or create one`,
      );
    }
    throw error;
  }
  if (!(clientIds ?? []).includes(AUDIENCE)) {
    throw new OidcProviderError(
      `${what} ${arn} does not accept the client ID ${AUDIENCE} (it lists ${(clientIds ?? []).join(", ") || "none"}), ` +
        "which the deploy role's trust requires: add it with " +
        `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${arn} --client-id ${AUDIENCE}, then retry`,
    );
  }
}

/** Which provider the deploy role of `config` trusts; throws OidcProviderError when it cannot. */
export async function decideOidcProvider(
  config: InfraConfig,
  sources: OidcSources,
): Promise<OidcDecision> {
  if (config.githubRepository === undefined) return { kind: "no-repository" };
  if (config.githubOidcProviderArn !== undefined) {
    await checkClientIds(sources.iam, config.githubOidcProviderArn, "githubOidcProviderArn");
    return { kind: "configured", arn: config.githubOidcProviderArn };
  }
  const arn = await githubProvider(sources.iam);
  if (arn === undefined) return { kind: "create" };
  const state = await sources.dependenciesState();
  const held = stateInstances(state, "aws_iam_openid_connect_provider").some((a) => a.arn === arn);
  if (held) return { kind: "ours", arn };
  await checkClientIds(sources.iam, arn, "the account's GitHub OIDC provider");
  return { kind: "reuse", arn };
}

/** What bootstrap.sh prints about `decision`. */
export function describeDecision(decision: OidcDecision): string {
  switch (decision.kind) {
    case "no-repository":
      return "no githubRepository: no deploy role, no OIDC provider";
    case "configured":
      return `githubOidcProviderArn is set: the deploy role trusts ${decision.arn}`;
    case "create":
      return "no GitHub OIDC provider in the account: this deployment creates one";
    case "ours":
      return `the GitHub OIDC provider ${decision.arn} is in this deployment's Terraform state: Terraform keeps managing it`;
    case "reuse":
      return `reusing the account's GitHub OIDC provider ${decision.arn} (not in this deployment's Terraform state): never created nor deleted here`;
  }
}

async function main(): Promise<number> {
  const root = process.cwd();
  const config = deploymentConfig(root, process.env);
  const decision = await decideOidcProvider(config, {
    iam: new IAMClient(clientConfig({ region: config.region })),
    dependenciesState: () => readState(stateLocation(config, "dependencies", root)),
  });
  console.error(`    ${describeDecision(decision)}`);
  if (decision.kind === "reuse") process.stdout.write(decision.arn);
  return 0;
}

if (require.main === module)
  runNamed("github-oidc", main, (error) =>
    error instanceof OidcProviderError || error instanceof StateReadError
      ? error.message
      : describeError(error),
  );
