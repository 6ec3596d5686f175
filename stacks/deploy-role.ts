/**
 * The role GitHub Actions assumes to deploy (.github/workflows/deploy.yml): trusted through the
 * account's GitHub OIDC provider by this repository's main branch only, allowed to push images,
 * run the smoke test and (from the Lambda stack, where the function is) update this function
 * only. Resources are created in the scope given (the stack itself), so their Terraform addresses
 * never change.
 */
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { Construct } from "constructs";
import { objects } from "./function-roles";

const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/**
 * Where scripts/smoke-test.sh uploads (ops/smoke-test.ts), under the source prefix; its
 * thumbnails are under each destination prefix + the source key. The deploy role may write and delete only there.
 */
export const SMOKE_TEST_FOLDER = "smoke-test/";

export interface DeployRoleProps {
  readonly roleName: string;
  /** OWNER/NAME: only its main branch may assume the role. */
  readonly githubRepository: string;
  /** The account's GitHub OIDC provider, when another deployment made it; else one is created. */
  readonly oidcProviderArn?: string;
  /** Tags on the provider created here, naming this deployment as its owner. */
  readonly ownerTags: Readonly<Record<string, string>>;
  readonly repositoryArn: string;
  readonly sourceBucketArn: string;
  readonly sourcePrefix: string;
  readonly destinationBucketArn: string;
  /** DEST_PREFIX + each rendition's prefix: where the smoke test's thumbnails appear. */
  readonly destinationPrefixes: readonly string[];
}

/** The deploy role: only this repository's main branch, only this deployment. */
export function deployRole(scope: Construct, props: DeployRoleProps): IamRole {
  // The OIDC provider GitHub's tokens are checked against (one per account: maybe another's)
  const providerArn =
    props.oidcProviderArn ??
    new IamOpenidConnectProvider(scope, "github-oidc", {
      url: `https://${GITHUB_OIDC_HOST}`,
      clientIdList: ["sts.amazonaws.com"],
      tags: { ...props.ownerTags },
    }).arn;
  // The role, and who may assume it
  const role = new IamRole(scope, "deploy-role", {
    name: props.roleName,
    maxSessionDuration: 3600,
    assumeRolePolicy: new DataAwsIamPolicyDocument(scope, "deploy-trust", {
      statement: [
        {
          actions: ["sts:AssumeRoleWithWebIdentity"],
          principals: [{ type: "Federated", identifiers: [providerArn] }],
          condition: [
            {
              test: "StringEquals",
              variable: `${GITHUB_OIDC_HOST}:aud`,
              values: ["sts.amazonaws.com"],
            },
            {
              test: "StringEquals",
              variable: `${GITHUB_OIDC_HOST}:sub`,
              values: [`repo:${props.githubRepository}:ref:refs/heads/main`],
            },
          ],
        },
      ],
    }).json,
  });
  // Push images to this repository, run the smoke test; the function permissions are below
  new IamRolePolicy(scope, "deploy-policy", {
    name: "push-image-and-smoke-test",
    role: role.name,
    policy: new DataAwsIamPolicyDocument(scope, "deploy-permissions", {
      statement: [...pushStatements(props.repositoryArn), ...smokeTestStatements(props)],
    }).json,
  });
  return role;
}

function pushStatements(repositoryArn: string) {
  return [
    {
      // Registry login: GetAuthorizationToken has no resource-level permissions.
      sid: "RegistryLogin",
      actions: ["ecr:GetAuthorizationToken"],
      resources: ["*"],
    },
    {
      sid: "PushImages",
      actions: [
        "ecr:BatchCheckLayerAvailability",
        // Moving the deployed/previous tags (tags are immutable: removed, then put).
        "ecr:BatchDeleteImage",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:DescribeImages",
        "ecr:GetDownloadUrlForLayer",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
      ],
      resources: [repositoryArn],
    },
  ];
}

/** The smoke test's rights: its own folder only, since a version delete cannot be undone. */
function smokeTestStatements(props: DeployRoleProps) {
  const upload = props.sourcePrefix + SMOKE_TEST_FOLDER;
  return [
    {
      // The smoke test deletes its upload by version ID: no delete marker left behind.
      sid: "SmokeTestUpload",
      actions: ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
      resources: [objects(props.sourceBucketArn, upload)],
    },
    {
      sid: "SmokeTestReadThumbnail",
      actions: ["s3:GetObject", "s3:DeleteObject"],
      resources: props.destinationPrefixes.map((prefix) =>
        objects(props.destinationBucketArn, prefix + upload),
      ),
    },
    {
      // Which keys trigger the function (prefix, suffix): the smoke test uploads one of them.
      sid: "SmokeTestReadTrigger",
      actions: ["s3:GetBucketNotification"],
      resources: [props.sourceBucketArn],
    },
    {
      sid: "SmokeTestWaitForThumbnail",
      actions: ["s3:ListBucket"],
      resources: [props.destinationBucketArn],
    },
  ];
}

export interface DeployFunctionPolicyProps {
  readonly deployRoleName: string;
  readonly functionArn: string;
}

/** The deploy role's rights on the function, in the Lambda stack: update and read it only. */
export function allowDeployRoleToUpdate(scope: Construct, props: DeployFunctionPolicyProps): void {
  // CI's image rollout: update-function-code, and the reads its waits and checks make
  new IamRolePolicy(scope, "deploy-function-policy", {
    name: "update-function",
    role: props.deployRoleName,
    policy: new DataAwsIamPolicyDocument(scope, "deploy-function-permissions", {
      statement: [
        {
          sid: "UpdateFunctionCode",
          actions: [
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionCode",
          ],
          resources: [props.functionArn],
        },
      ],
    }).json,
  });
}
