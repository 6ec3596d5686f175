/**
 * The images of a deployment's ECR repository: what a tag or digest names, which commit and
 * architecture an image holds, and the two tags the lifecycle policy never expires
 * (stacks/image-repository.ts): `deployed`, the image the function runs, and `previous`, the one
 * it ran before. Tags are immutable in the repository, so a tag moves by BatchDeleteImage of the
 * tag (an image keeps its other tags, and every pushed image has its build tag) and PutImage of
 * the image's own manifest under it. `previous` moves first, so the image being replaced always
 * keeps one protected tag.
 *
 *   node dist/ops/image-tags.js mark-deployed URL DEPLOYED PREVIOUS REGION DRY_RUN
 *       scripts/tag-deployed.sh's work (its --help): tags URL@DEPLOYED `deployed` and PREVIOUS
 *       (URL@sha256:..., or "" on a first deploy) `previous`; REGION "" reads it from URL;
 *       DRY_RUN 1 says what it would move and calls nothing
 *   node dist/ops/image-tags.js region --repository-url URL
 *       checks URL is an ECR repository's and prints its region
 *   node dist/ops/image-tags.js record-tags --platform linux/amd64|linux/arm64 [--inputs-hash H]
 *       [--commit SHA]
 *       the tags scripts/push-image.sh records on the image it pushes (its --help), one a line,
 *       an empty line for one it does not record: inputs-<amd64|arm64>-H (none without
 *       --inputs-hash), then commit-<amd64|arm64>-SHA (none without --commit); a bad value exits 2
 *   node dist/ops/image-tags.js existing --repository-url URL --tag TAG [--inputs-tag T]
 *       [--commit-tag T] [--region R]
 *       scripts/push-image.sh's decision before it builds (its --help): prints the digest of an
 *       image to use (URL:TAG, or an image of these inputs, tagged TAG), or "build"
 *   node dist/ops/image-tags.js pushed --repository-url URL --tag TAG [--region R]
 *       prints the digest of URL:TAG, which must be there (after the push)
 */
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  type ImageIdentifier,
  PutImageCommand,
} from "@aws-sdk/client-ecr";
import { PLATFORM } from "../stacks/rollout";
import { clientConfig, unlessAbsent } from "./aws";
import { parseOptions, runTool, UsageError } from "./run-tool";
import { COMMIT_PREFIX, commitOf, INPUTS_PREFIX } from "./tag-names";

/** An ECR repository, as its URL names it. */
export interface Repository {
  /** ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME */
  readonly url: string;
  readonly name: string;
  /** The account that owns it. */
  readonly registryId: string;
  readonly region: string;
}

/** Where progress lines go (stderr in the tools). */
export type Log = (line: string) => void;

export const toStderr: Log = (line) => process.stderr.write(`    ${line}\n`);

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const REPOSITORY_URL =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+)$/;

export const isDigest = (value: string): boolean => DIGEST.test(value);

/** The repository a URL names; undefined when it is no ECR repository URL. */
export function parseRepositoryUrl(url: string): Repository | undefined {
  const match = REPOSITORY_URL.exec(url);
  if (match === null) return undefined;
  const [, registryId = "", region = "", name = ""] = match;
  return { url, name, registryId, region };
}

/** `URL@sha256:...` split in two; undefined when it is not an image pinned by digest. */
export function splitImageUri(uri: string): { url: string; digest: string } | undefined {
  const at = uri.lastIndexOf("@");
  const digest = uri.slice(at + 1);
  return at > 0 && isDigest(digest) ? { url: uri.slice(0, at), digest } : undefined;
}

const where = (repository: Repository) => ({
  repositoryName: repository.name,
  registryId: repository.registryId,
});

/** One image of the repository: its digest and tags. */
export interface Image {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt?: Date;
}

/** The image a tag or digest names in the repository, or undefined when there is none. */
export async function findImage(
  ecr: ECRClient,
  repository: Repository,
  id: ImageIdentifier,
): Promise<Image | undefined> {
  const out = await unlessAbsent(() =>
    ecr.send(new DescribeImagesCommand({ ...where(repository), imageIds: [id] })),
  );
  const detail = out?.imageDetails?.[0];
  if (detail?.imageDigest === undefined) return undefined;
  return {
    digest: detail.imageDigest,
    tags: detail.imageTags ?? [],
    pushedAt: detail.imagePushedAt,
  };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** The tag scripts/push-image.sh records a commit under, for a function architecture. */
export function commitTag(architecture: keyof typeof PLATFORM, commit: string): string {
  return `${COMMIT_PREFIX}${dockerArchitecture(architecture)}-${commit}`;
}

/** The tag scripts/push-image.sh records the image inputs' hash under, for a function architecture. */
export function inputsTag(architecture: keyof typeof PLATFORM, inputsHash: string): string {
  return `${INPUTS_PREFIX}${dockerArchitecture(architecture)}-${inputsHash}`;
}

/** Whether `tag` records image inputs (of any architecture). */
const isInputsTag = (tag: string): boolean => tag.startsWith(INPUTS_PREFIX);

const dockerArchitecture = (architecture: keyof typeof PLATFORM): string =>
  PLATFORM[architecture].replace(/^linux\//, "");

/** The function architecture (x86_64, arm64) of a docker platform (linux/amd64, linux/arm64). */
const architectureOfPlatform = (platform: string): keyof typeof PLATFORM | undefined =>
  (Object.keys(PLATFORM) as (keyof typeof PLATFORM)[]).find((a) => PLATFORM[a] === platform);

/** The function architecture (x86_64, arm64) of a docker architecture (amd64, arm64). */
function lambdaArchitecture(docker: string): string {
  return architectureOfPlatform(`linux/${docker}`) ?? docker;
}

/** What a push records about its image (scripts/push-image.sh's --platform, --inputs-hash, --commit). */
export interface PushRecord {
  readonly platform: string;
  /** sha256 (64 hex) of the image inputs; "" or undefined: unknown (e.g. CI). */
  readonly inputsHash?: string;
  /** The commit (40 hex) that holds those inputs; needs inputsHash. */
  readonly commit?: string;
}

/**
 * The tags a push records on its image: the inputs tag (none without an inputs hash) and the
 * commit tag (none without a commit). A bad value is a UsageError saying which.
 */
export function recordTags({ platform, inputsHash = "", commit = "" }: PushRecord): {
  inputsTag?: string;
  commitTag?: string;
} {
  const architecture = architectureOfPlatform(platform);
  if (architecture === undefined) {
    throw new UsageError(
      `--platform '${platform}' is not supported: use linux/amd64 (x86_64) or linux/arm64 (arm64)`,
    );
  }
  if (inputsHash !== "" && !SHA256_HEX.test(inputsHash)) {
    throw new UsageError(`--inputs-hash '${inputsHash}' is not a sha256 hash (64 hex digits)`);
  }
  if (commit === "") {
    return inputsHash === "" ? {} : { inputsTag: inputsTag(architecture, inputsHash) };
  }
  if (inputsHash === "") {
    throw new UsageError(
      "--commit needs --inputs-hash: only an image of known inputs can record their commit",
    );
  }
  if (!COMMIT_SHA.test(commit)) {
    throw new UsageError(`--commit '${commit}' is not a git commit SHA (40 hex digits)`);
  }
  return {
    inputsTag: inputsTag(architecture, inputsHash),
    commitTag: commitTag(architecture, commit),
  };
}

/** Manifest types ECR may hold the deploy's single-platform images in. */
const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

/** The image's manifest, as ECR stores it, and its media type. */
async function manifestOf(
  ecr: ECRClient,
  repository: Repository,
  digest: string,
): Promise<{ manifest: string; mediaType: string }> {
  const out = await ecr.send(
    new BatchGetImageCommand({
      ...where(repository),
      imageIds: [{ imageDigest: digest }],
      acceptedMediaTypes: MANIFEST_TYPES,
    }),
  );
  const image = out.images?.[0];
  if (image?.imageManifest === undefined || image.imageManifestMediaType === undefined) {
    const why = out.failures?.[0]?.failureReason ?? "no manifest returned";
    throw new Error(`cannot read the manifest of ${repository.url}@${digest}: ${why}`);
  }
  return { manifest: image.imageManifest, mediaType: image.imageManifestMediaType };
}

/**
 * The function architecture (x86_64 or arm64) the image was built for, from its configuration
 * blob (the manifest's `config`): what Lambda runs, whatever the tags say.
 */
export async function imageArchitecture(
  ecr: ECRClient,
  repository: Repository,
  digest: string,
): Promise<string> {
  const { manifest } = await manifestOf(ecr, repository, digest);
  const config = (JSON.parse(manifest) as { config?: { digest?: string } }).config?.digest;
  if (config === undefined) {
    throw new Error(`${repository.url}@${digest} is not a single-platform image: no config`);
  }
  const { downloadUrl } = await ecr.send(
    new GetDownloadUrlForLayerCommand({ ...where(repository), layerDigest: config }),
  );
  if (downloadUrl === undefined) throw new Error(`ECR gave no URL for ${digest}'s config`);
  const response = await fetch(downloadUrl);
  if (!response.ok) throw new Error(`cannot read ${digest}'s config: HTTP ${response.status}`);
  const { architecture } = (await response.json()) as { architecture?: string };
  if (architecture === undefined) throw new Error(`${digest}'s config names no architecture`);
  return lambdaArchitecture(architecture);
}

/** Takes `tag` off the image that has it (ECR answers a missing tag as a failure, not an error). */
async function untag(ecr: ECRClient, repository: Repository, tag: string): Promise<void> {
  const out = await ecr.send(
    new BatchDeleteImageCommand({ ...where(repository), imageIds: [{ imageTag: tag }] }),
  );
  const failure = out.failures?.find((f) => f.failureCode !== "ImageNotFound");
  if (failure !== undefined) {
    throw new Error(
      `cannot remove the tag ${tag}: ${failure.failureCode}: ${failure.failureReason}`,
    );
  }
}

/** Puts `tag` on the image `digest`, taking it off the image that has it. */
export async function moveTag(
  ecr: ECRClient,
  repository: Repository,
  tag: string,
  digest: string,
  log: Log,
): Promise<void> {
  const current = (await findImage(ecr, repository, { imageTag: tag }))?.digest;
  if (current === digest) {
    log(`${tag} is already ${digest}`);
    return;
  }
  if (current !== undefined) await untag(ecr, repository, tag);
  await addTag(ecr, repository, tag, digest);
  log(`${tag} is now ${digest}${current === undefined ? "" : ` (was ${current})`}`);
}

/** Puts `tag`, which no image has (tags are immutable), on the image `digest` as well. */
async function addTag(
  ecr: ECRClient,
  repository: Repository,
  tag: string,
  digest: string,
): Promise<void> {
  const { manifest, mediaType } = await manifestOf(ecr, repository, digest);
  await ecr.send(
    new PutImageCommand({
      ...where(repository),
      imageTag: tag,
      imageDigest: digest,
      imageManifest: manifest,
      imageManifestMediaType: mediaType,
    }),
  );
}

/** What scripts/push-image.sh is about to push. */
export interface Push {
  readonly tag: string;
  /** inputs-<arch>-HASH: the image inputs it holds (none: unknown, e.g. CI). */
  readonly inputsTag?: string;
  /** commit-<arch>-SHA: the commit that holds them, recorded on an image of these inputs. */
  readonly commitTag?: string;
}

/** Puts the commit tag on an image of these inputs, unless it has it. */
async function recordCommit(
  ecr: ECRClient,
  repository: Repository,
  push: Push,
  image: Image,
  log: Log,
): Promise<void> {
  if (push.commitTag === undefined || image.tags.includes(push.commitTag)) return;
  await addTag(ecr, repository, push.commitTag, image.digest);
  log(`recorded commit ${commitOf([push.commitTag])} on it (${push.commitTag})`);
}

/** Throws unless `existing` (URL:TAG) holds the push's inputs; true if it records them. */
function holdsInputs(repository: Repository, push: Push, existing: Image, log: Log): boolean {
  if (existing.tags.includes(push.inputsTag ?? "")) {
    log(`it records these image inputs (${push.inputsTag})`);
    return true;
  }
  const recorded = existing.tags.filter(isInputsTag).at(-1);
  const fix = `Tags are immutable, so ${push.tag} cannot be rebuilt: set a new imageTag (cdktf.json context or THUMBNAILER_IMAGE_TAG), or unset it to use the tag derived from the inputs, then deploy again`;
  const image = `${repository.url}:${push.tag}`;
  if (recorded !== undefined) {
    throw new Error(
      `${image} already exists and was built from other image inputs (${recorded}; this checkout's are ${push.inputsTag}): deploying it would run other code than this checkout's. ${fix}.`,
    );
  }
  if (COMMIT_SHA.test(push.tag)) {
    log(
      `it has no inputs record, but ${push.tag} is a commit (CI's tag): the commit identifies its code`,
    );
    return false;
  }
  throw new Error(
    `${image} already exists without a record of the image inputs it was built from (pushed before images recorded them): nothing says it holds this checkout's code. ${fix}.`,
  );
}

/**
 * The digest of an image scripts/push-image.sh can use instead of building: URL:TAG if it is
 * there (with an inputs tag, only if it holds these inputs, else an error), or an image of these
 * inputs under another tag, tagged TAG. An image of these inputs gets the commit tag. Undefined:
 * build.
 */
export async function reusableImage(
  ecr: ECRClient,
  repository: Repository,
  push: Push,
  log: Log,
): Promise<string | undefined> {
  const existing = await findImage(ecr, repository, { imageTag: push.tag });
  if (existing !== undefined) {
    if (push.inputsTag !== undefined && holdsInputs(repository, push, existing, log)) {
      await recordCommit(ecr, repository, push, existing, log);
    }
    log(`yes, as ${existing.digest}: nothing to build`);
    return existing.digest;
  }
  log("no");
  if (push.inputsTag === undefined) return undefined;
  const same = await findImage(ecr, repository, { imageTag: push.inputsTag });
  if (same === undefined) {
    log(`no image of these inputs (${push.inputsTag}) either: building`);
    return undefined;
  }
  log(
    `an image of these inputs (${push.inputsTag}) is, as ${same.digest}: tagging it ${push.tag} instead of building it again`,
  );
  await addTag(ecr, repository, push.tag, same.digest);
  await recordCommit(ecr, repository, push, same, log);
  return same.digest;
}

export interface Rollout {
  /** The digest the function runs now. */
  readonly deployed: string;
  /** The image it ran before (URL@sha256:...); undefined on a first deploy. */
  readonly previous?: string;
}

/**
 * Tags the image the function now runs `deployed` and the one it ran before `previous`,
 * `previous` first. A `previous` of another repository (or not pinned by digest) is left alone,
 * and so is a redeploy of the same image. With `dryRun`, says what it would move and calls nothing.
 */
export async function markDeployed(
  ecr: ECRClient,
  repository: Repository,
  rollout: Rollout,
  options: { readonly log: Log; readonly dryRun?: boolean },
): Promise<void> {
  if (!isDigest(rollout.deployed)) {
    throw new Error(`'${rollout.deployed}' is not an image digest (sha256:<64 hex>)`);
  }
  const moves: [string, string][] = [];
  if (rollout.previous !== undefined && rollout.previous !== "") {
    const previous = splitImageUri(rollout.previous);
    if (previous === undefined || previous.url !== repository.url) {
      options.log(
        `the previous image ${rollout.previous} is not in ${repository.name}: not tagged`,
      );
    } else if (previous.digest !== rollout.deployed) {
      moves.push(["previous", previous.digest]);
    }
  }
  moves.push(["deployed", rollout.deployed]);
  for (const [tag, digest] of moves) {
    if (options.dryRun === true) {
      options.log(
        `would move ${tag} to ${digest} (BatchDeleteImage imageTag=${tag}, then PutImage)`,
      );
    } else {
      await moveTag(ecr, repository, tag, digest, options.log);
    }
  }
}

/** The repository --repository-url names (--region overriding the URL's). */
function repositoryOption(url = "", region = ""): Repository {
  const parsed = parseRepositoryUrl(url);
  if (parsed === undefined) {
    throw new Error(
      `--repository-url '${url}' is not an ECR repository URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)`,
    );
  }
  return { ...parsed, region: region || parsed.region };
}

/** existing, pushed, region: scripts/push-image.sh's questions (see the top of this file). */
async function pushCommand(command: string, args: string[]): Promise<number> {
  const values = parseOptions(args, {
    "repository-url": { type: "string" },
    region: { type: "string" },
    tag: { type: "string" },
    "inputs-tag": { type: "string" },
    "commit-tag": { type: "string" },
  });
  const repository = repositoryOption(values["repository-url"], values.region);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (command === "region") {
    say(repository.region);
    return 0;
  }
  const tag = values.tag ?? "";
  if (tag === "") throw new UsageError("--tag is required");
  const ecr = new ECRClient(clientConfig({ region: repository.region }));
  if (command === "pushed") {
    const image = await findImage(ecr, repository, { imageTag: tag });
    if (image === undefined)
      throw new Error(`ECR does not list ${repository.url}:${tag} after the push`);
    say(image.digest);
    return 0;
  }
  const push = {
    tag,
    inputsTag: values["inputs-tag"] || undefined,
    commitTag: values["commit-tag"] || undefined,
  };
  say((await reusableImage(ecr, repository, push, toStderr)) ?? "build");
  return 0;
}

/** record-tags: prints the inputs tag and the commit tag, one a line ("" for none); no AWS call. */
function recordTagsCommand(args: string[]): number {
  const values = parseOptions(args, {
    platform: { type: "string" },
    "inputs-hash": { type: "string" },
    commit: { type: "string" },
  });
  const tags = recordTags({
    platform: values.platform ?? "",
    inputsHash: values["inputs-hash"],
    commit: values.commit,
  });
  process.stdout.write(`${tags.inputsTag ?? ""}\n${tags.commitTag ?? ""}\n`);
  return 0;
}

async function main([command = "", ...args]: string[]): Promise<number> {
  if (["existing", "pushed", "region"].includes(command)) return pushCommand(command, args);
  if (command === "record-tags") return recordTagsCommand(args);
  if (command !== "mark-deployed") {
    console.error(
      "usage: image-tags.js mark-deployed URL DEPLOYED PREVIOUS REGION DRY_RUN | record-tags | existing | pushed | region (see ops/image-tags.ts)",
    );
    return 2;
  }
  const [url = "", deployed = "", previous = "", region = "", dryRun = "0"] = args;
  const repository = repositoryOption(url, region);
  if (!isDigest(deployed)) {
    throw new Error(`--deployed '${deployed}' is not an image digest (sha256:<64 hex>)`);
  }
  const ecr = new ECRClient(clientConfig({ region: repository.region }));
  await markDeployed(
    ecr,
    repository,
    { deployed, previous },
    { log: toStderr, dryRun: dryRun === "1" },
  );
  return 0;
}

if (require.main === module) runTool(main);
