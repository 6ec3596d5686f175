/**
 * ops/github-oidc.ts on the IAM SDK client (aws-sdk-client-mock): which GitHub OIDC provider the
 * deploy role trusts. Ownership comes from the dependencies stack's Terraform state, never from a
 * tag; a provider reused from elsewhere must accept the client ID sts.amazonaws.com.
 */
import {
  GetOpenIDConnectProviderCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
  NoSuchEntityException,
} from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import { decideOidcProvider, OidcProviderError } from "../ops/github-oidc";
import { readInfraConfig } from "../stacks/config";

const GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
const EKS = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB12";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

/** A dependencies-stack state holding GitHub's provider (as Terraform records it). */
const stateWith = (arn: string) =>
  JSON.stringify({
    version: 4,
    resources: [
      {
        mode: "data",
        type: "aws_iam_openid_connect_provider",
        instances: [{ attributes: { arn: EKS } }],
      },
      {
        mode: "managed",
        type: "aws_iam_openid_connect_provider",
        name: "github-oidc",
        instances: [{ attributes: { arn, tags: {} } }],
      },
    ],
  });

describe("decideOidcProvider", () => {
  const iam = mockClient(IAMClient);
  const config = (context: Record<string, unknown> = {}) =>
    readInfraConfig({
      context: (key) => ({ region: "eu-west-1", githubRepository: "acme/thumbs", ...context })[key],
      env: {},
    });
  const decide = (state: string, context?: Record<string, unknown>) =>
    decideOidcProvider(config(context), {
      iam: new IAMClient({ region: "eu-west-1", credentials }),
      dependenciesState: async () => state,
    });
  const accountHas = (arns: string[], clientIds: string[] = ["sts.amazonaws.com"]) => {
    iam
      .on(ListOpenIDConnectProvidersCommand)
      .resolves({ OpenIDConnectProviderList: arns.map((Arn) => ({ Arn })) });
    iam
      .on(GetOpenIDConnectProviderCommand, { OpenIDConnectProviderArn: GITHUB })
      .resolves({ Url: "token.actions.githubusercontent.com", ClientIDList: clientIds });
  };

  beforeEach(() => iam.reset());
  afterAll(() => iam.restore());

  it("creates one in an account without GitHub's provider, reading no state", async () => {
    accountHas([EKS]);
    const state = jest.fn(async () => "");

    const decision = await decideOidcProvider(config(), {
      iam: new IAMClient({ region: "eu-west-1", credentials }),
      dependenciesState: state,
    });

    expect(decision).toEqual({ kind: "create" });
    expect(state).not.toHaveBeenCalled();
    expect(iam.commandCalls(GetOpenIDConnectProviderCommand)).toHaveLength(0);
  });

  it("keeps the provider this deployment's state holds, untagged (made before the tag existed)", async () => {
    accountHas([EKS, GITHUB], ["sigstore"]);

    const decision = await decide(stateWith(GITHUB));

    // Terraform made it: its client IDs are Terraform's to manage, not checked here
    expect(decision).toEqual({ kind: "ours", arn: GITHUB });
    expect(iam.commandCalls(GetOpenIDConnectProviderCommand)).toHaveLength(0);
  });

  it.each([
    ["no state yet", ""],
    ["a state without it (only a data source names a provider)", stateWith(EKS)],
  ])(
    "reuses a provider the state does not hold (%s), once it accepts sts.amazonaws.com",
    async (_, state) => {
      accountHas([EKS, GITHUB], ["sigstore", "sts.amazonaws.com"]);

      const decision = await decide(state);

      expect(decision).toEqual({ kind: "reuse", arn: GITHUB });
      expect(iam.commandCalls(GetOpenIDConnectProviderCommand)[0]?.args[0].input).toEqual({
        OpenIDConnectProviderArn: GITHUB,
      });
    },
  );

  it("refuses to reuse a provider that does not accept sts.amazonaws.com, saying how to add it", async () => {
    accountHas([GITHUB], ["sigstore"]);

    const decision = decide("");

    await expect(decision).rejects.toThrow(OidcProviderError);
    await expect(decision).rejects.toThrow(
      `the account's GitHub OIDC provider ${GITHUB} does not accept the client ID sts.amazonaws.com (it lists sigstore)`,
    );
    await expect(decision).rejects.toThrow(
      `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${GITHUB} --client-id sts.amazonaws.com`,
    );
  });

  it("checks a configured githubOidcProviderArn the same way, without listing", async () => {
    accountHas([], []);
    const configured = { githubOidcProviderArn: GITHUB };

    await expect(decide("", configured)).rejects.toThrow(
      `githubOidcProviderArn ${GITHUB} does not accept`,
    );
    iam
      .on(GetOpenIDConnectProviderCommand)
      .rejects(new NoSuchEntityException({ message: "not found", $metadata: {} }));
    await expect(decide("", configured)).rejects.toThrow(
      `githubOidcProviderArn ${GITHUB} does not exist`,
    );
    expect(iam.commandCalls(ListOpenIDConnectProvidersCommand)).toHaveLength(0);
  });

  it("decides nothing for a deployment without a GitHub repository", async () => {
    const decision = await decideOidcProvider(
      readInfraConfig({ context: (key) => ({ region: "eu-west-1" })[key], env: {} }),
      {
        iam: new IAMClient({ region: "eu-west-1", credentials }),
        dependenciesState: async () => "",
      },
    );

    expect(decision).toEqual({ kind: "no-repository" });
    expect(iam.calls()).toHaveLength(0);
  });
});
