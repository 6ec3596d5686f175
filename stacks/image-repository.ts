/**
 * The image repository of the function's container images: ECR with immutable tags, the expiry
 * that never removes the image the function runs or the one before it, and the policy that lets
 * the function pull. Like every part of the stacks, it creates its resources in the scope it is
 * given (the stack itself), so their Terraform addresses are the ones they always had: a new
 * address would make Terraform replace the repository.
 */
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { EcrRepositoryPolicy } from "@cdktf/provider-aws/lib/ecr-repository-policy";
import type { Construct } from "constructs";

/**
 * The tag of the image the function runs: scripts/tag-deployed.sh moves it after every rollout,
 * the lifecycle policy never expires it, and a function created anew starts from it
 * (stacks/rollout.ts).
 */
export const DEPLOYED_TAG = "deployed";

export interface ImageRepositoryProps {
  /** The repository's name (the deployment's). */
  readonly name: string;
  /** How many images expiry keeps besides the deployed and previous ones. */
  readonly keepImages: number;
}

/** The repository and its expiry policy. */
export function imageRepository(scope: Construct, props: ImageRepositoryProps): EcrRepository {
  // Image repository: immutable tags, scanned on push; destroy deletes it with its images
  const repository = new EcrRepository(scope, "repository", {
    name: props.name,
    imageTagMutability: "IMMUTABLE",
    imageScanningConfiguration: { scanOnPush: true },
    encryptionConfiguration: [{ encryptionType: "AES256" }],
    forceDelete: true,
  });
  // Expiry: never the image the function runs or the one before it (the rollout tags them,
  // scripts/tag-deployed.sh); of the rest, the newest keepImages stay. An image a rule with a
  // lower rulePriority selects is never expired by a later rule, and only one image at a time
  // carries each protected tag, so the first two rules never expire anything.
  new EcrLifecyclePolicy(scope, "repository-lifecycle", {
    repository: repository.name,
    policy: JSON.stringify({
      rules: [
        protectedTag(1, DEPLOYED_TAG),
        protectedTag(2, "previous"),
        {
          rulePriority: 3,
          description: `Keep the last ${props.keepImages} images`,
          selection: {
            tagStatus: "any",
            countType: "imageCountMoreThan",
            countNumber: props.keepImages,
          },
          action: { type: "expire" },
        },
      ],
    }),
  });
  return repository;
}

/** A lifecycle rule that keeps the one image carrying `tag`. */
function protectedTag(rulePriority: number, tag: string) {
  return {
    rulePriority,
    description: `Never expire the image tagged ${tag}`,
    selection: {
      tagStatus: "tagged",
      tagPatternList: [tag],
      countType: "imageCountMoreThan",
      countNumber: 1,
    },
    action: { type: "expire" },
  };
}

export interface FunctionPullProps {
  readonly repositoryName: string;
  /** The function's ARN (the function itself lives in the Lambda stack). */
  readonly functionArn: string;
}

/**
 * Lambda pulls the image with this policy. Declared here, it does not depend on the statement
 * Lambda adds when a function is created with the admin's rights: CI's deploy role, which may
 * not set repository policies, can always update the function.
 */
export function allowFunctionPull(scope: Construct, props: FunctionPullProps): void {
  // Repository policy: only Lambda, only for this function (and its versions and aliases)
  new EcrRepositoryPolicy(scope, "repository-policy", {
    repository: props.repositoryName,
    policy: new DataAwsIamPolicyDocument(scope, "repository-permissions", {
      statement: [
        {
          sid: "LambdaECRImageRetrievalPolicy",
          principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }],
          actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
          condition: [
            {
              test: "StringLike",
              variable: "aws:sourceArn",
              values: [props.functionArn, `${props.functionArn}:*`],
            },
          ],
        },
      ],
    }).json,
  });
}
