/**
 * The image build and rollout: a `terraform_data` that runs scripts/build-and-roll-out.sh when the
 * image inputs, tag, platform or repository change, and the image the function is created from.
 * Resources are created in the scope given (the stack itself), so their Terraform addresses never
 * change.
 */
import { DataAwsEcrImage } from "@cdktf/provider-aws/lib/data-aws-ecr-image";
import { DataResource } from "cdktf";
import type { Construct } from "constructs";
import { DEPLOYED_TAG } from "./image-repository";

/**
 * The rollout program, relative to the project root. Terraform runs it with the project root as
 * its working directory (cdktf deploy runs Terraform in cdktf.out/stacks/lambda), and the script
 * finds its sibling scripts from its own location.
 */
export const ROLLOUT_SCRIPT = "scripts/build-and-roll-out.sh";

/** The image the deploy builds: where from, and under which tag. */
export interface ImageBuild {
  /** Project root: the build context, and where the scripts live. */
  readonly projectRoot: string;
  /** Hash of the image inputs (stacks/image-inputs.ts): a new value rebuilds the image. */
  readonly inputsHash: string;
  /** The image inputs, relative to projectRoot: the rollout refuses them uncommitted. */
  readonly inputs: readonly string[];
  readonly tag: string;
}

/** The image's platform for each function architecture. */
export const PLATFORM = { x86_64: "linux/amd64", arm64: "linux/arm64" } as const;

export interface RolloutProps {
  readonly image: ImageBuild;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
  readonly functionName: string;
  readonly architecture: keyof typeof PLATFORM;
  readonly region: string;
}

/**
 * Builds the image and rolls it out (scripts/build-and-roll-out.sh --help says how); returns the
 * image the function is created from.
 */
export function imageRollout(scope: Construct, props: RolloutProps): DataAwsEcrImage {
  const { image } = props;
  // Image build and rollout: only when the image inputs, tag, platform or repository change
  const platform = PLATFORM[props.architecture];
  const imageBuild = new DataResource(scope, "image-build", {
    triggersReplace: {
      inputs: image.inputsHash,
      tag: image.tag,
      platform,
      repository: props.repositoryUrl,
    },
    provisioners: [
      {
        type: "local-exec",
        workingDir: image.projectRoot,
        interpreter: ["bash", "-c"],
        command: `bash ${ROLLOUT_SCRIPT}`,
        environment: {
          REPOSITORY_URL: props.repositoryUrl,
          TAG: image.tag,
          INPUTS_HASH: image.inputsHash,
          IMAGE_INPUTS: image.inputs.join("\n"),
          PLATFORM: platform,
          ARCHITECTURE: props.architecture,
          REGION: props.region,
          FUNCTION_NAME: props.functionName,
        },
      },
    ],
  });

  // The image the function is created from, pinned by digest: the one tagged `deployed`. The
  // rollout tags this deploy's push so before the function exists (the first deploy) and after
  // each update; CI moves the tag only after its smoke test passed. The newest image would do on
  // a first deploy, but a function recreated later would start from whatever was pushed last, a
  // failed CI build included. Read on every plan; expiry never removes the tag
  // (stacks/image-repository.ts).
  return new DataAwsEcrImage(scope, "deployed-image", {
    repositoryName: props.repositoryName,
    imageTag: DEPLOYED_TAG,
    dependsOn: [imageBuild],
  });
}
