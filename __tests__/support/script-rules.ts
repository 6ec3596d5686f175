/**
 * Rules for the recording stand-ins (__tests__/support/fake-bin) shared by the scripts' tests: a
 * machine where every preflight check passes and a deploy that writes its outputs file.
 */
import type { Answers } from "./sdk-stand-in";

export const ACCOUNT = "123456789012";
export const REPOSITORY_URL = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/thumbnailer`;
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/thumbnailer-github-deploy`;
export const DIGEST = `sha256:${"ab12".repeat(16)}`;

/** The ARN of GitHub's OIDC provider in ACCOUNT. */
export const GITHUB_OIDC_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;

/** `cdktf deploy --outputs-file` contents, shaped like cdktf writes them (stack -> output id). */
export const OUTPUTS = {
  dependencies: {},
  lambda: {
    "source-bucket": "thumbnailer-source-x1",
    "destination-bucket": "thumbnailer-thumbnails-x1",
    "function-name": "thumbnailer",
    "repository-url": REPOSITORY_URL,
    "failure-queue-url": `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/thumbnailer-failures`,
    "deploy-role-arn": ROLE_ARN,
  },
};

/**
 * Rules for the stand-ins: `arms` (bash case arms on "tool args...") first, then a machine where
 * every preflight check passes. Unmatched calls print nothing and succeed.
 */
export function rules(arms = "", outputs: unknown = OUTPUTS): string {
  return `
outputs_json='${JSON.stringify(outputs)}'
respond() {
  local tool="$1"; shift
  case "$tool $*" in
${arms}
    "docker buildx version") echo "github.com/docker/buildx v0.14.1 59582f8" ;;
    "docker info"*) echo "27.1.1" ;;
    "terraform version") echo "Terraform v1.11.4" ;;
    "gh auth status") echo "Logged in to github.com account acme-bot" ;;
    "gh repo view"*) echo "acme/thumbs" ;;
    "gh variable list"*) echo '[]' ;;
    "npx cdktf deploy"*)
      while [ "$#" -gt 0 ]; do
        if [ "$1" = --outputs-file ]; then printf '%s' "$outputs_json" > "$2"; fi
        shift
      done
      printf '%s' "\${THUMBNAILER_GITHUB_REPOSITORY:-}" > "$FAKE_DIR/deploy-saw-repository"
      cp cdktf.json "$FAKE_DIR/deploy-saw-cdktf.json" ;;
    "npx cdktf synth"*)
      # A real synth the test made ($SYNTH_OUT), copied where cdktf writes it.
      if [ -n "\${SYNTH_OUT:-}" ]; then mkdir -p cdktf.out && cp -r "$SYNTH_OUT/." cdktf.out/; fi ;;
    "npx cdktf destroy"*)
      printf '%s' "\${THUMBNAILER_GITHUB_REPOSITORY:-}" > "$FAKE_DIR/destroy-saw-repository" ;;
    "aws lambda get-account-settings"*) printf '1000\\t1000\\n' ;;
    # Nothing the deployment names exists yet, and it has no state.
    "aws s3api head-bucket"* | "aws s3api head-object"*)
      echo "An error occurred (404) when calling the HeadObject operation: Not Found" >&2; return 254 ;;
    "aws ecr describe-repositories"*)
      echo "An error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation" >&2; return 254 ;;
    "aws iam get-role"*)
      echo "An error occurred (NoSuchEntity) when calling the GetRole operation" >&2; return 254 ;;
    "aws lambda get-function-configuration"*) printf 'arm64\\tuploads/\\n' ;;
    "aws s3api list-object-versions"*) printf '0\\t0\\tFalse\\n' ;;
  esac
}`;
}

/** The digest the stand-in `docker buildx build --push` gives the image it pushes. */
export const BUILT = `sha256:${"b1".repeat(32)}`;
export const MANIFEST =
  '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}';

/**
 * Bash appended to `rules(...)`: an ECR repository with immutable tags, kept in
 * $FAKE_DIR/registry ("TAG DIGEST" lines, read back with `files("registry")`), starting with
 * `images` (digest -> its tags). describe-images answers by tag or by digest (the digest, or the
 * tags tab-separated as `--query imageDetails[0].imageTags --output text` prints them);
 * `docker buildx build --push` adds every --tag on a new image, BUILT; put-image adds a tag;
 * both refuse a tag that exists, as ECR does; batch-delete-image removes a tag. Route calls to it with ECR_ARMS.
 */
export function ecrRegistry(images: Record<string, string[]>): string {
  const lines = Object.entries(images).flatMap(([digest, tags]) =>
    tags.map((t) => `${t} ${digest}`),
  );
  return `
registry="$FAKE_DIR/registry"
[ -f "$registry" ] || printf '%s' '${lines.map((l) => `${l}\n`).join("")}' >"$registry"
not_found() { echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: $1" >&2; return 254; }
taken() { awk -v t="$1" '$1 == t { found = 1 } END { exit !found }' "$registry"; }
fake_ecr() {
  local call="$1" arg tag="" digest="" query="" new_tag="" previous=""
  shift
  for arg in "$@"; do
    case "$previous" in
      --query) query="$arg" ;;
      --image-tag) new_tag="$arg" ;;
      --image-digest) digest="$arg" ;;
    esac
    case "$arg" in
      imageTag=*) tag="\${arg#imageTag=}" ;;
      imageDigest=*) digest="\${arg#imageDigest=}" ;;
    esac
    previous="$arg"
  done
  case "$call" in
    describe-images)
      if [ -n "$tag" ]; then
        digest="$(awk -v t="$tag" '$1 == t { print $2 }' "$registry")"
        [ -n "$digest" ] || { not_found "imageTag=$tag"; return; }
      fi
      [ -n "$(awk -v d="$digest" '$2 == d' "$registry")" ] || { not_found "imageDigest=$digest"; return; }
      if [[ "$query" == *imageTags* ]]; then
        awk -v d="$digest" '$2 == d { printf "%s%s", sep, $1; sep = "\\t" } END { print "" }' "$registry"
      else
        echo "$digest"
      fi ;;
    put-image)
      if taken "$new_tag"; then
        echo "An error occurred (ImageTagAlreadyExistsException) when calling the PutImage operation: tag '$new_tag' already exists" >&2
        return 254
      fi
      echo "$new_tag $digest" >>"$registry" ;;
    batch-delete-image)
      awk -v t="$tag" '$1 != t' "$registry" >"$registry.new" && mv "$registry.new" "$registry" ;;
    batch-get-image)
      if [[ "$query" == *MediaType* ]]; then echo "application/vnd.oci.image.manifest.v1+json"; else echo '${MANIFEST}'; fi ;;
  esac
}
fake_buildx() {
  local previous="" arg tags=()
  for arg in "$@"; do
    if [ "$previous" = --tag ]; then tags+=("\${arg##*:}"); fi
    previous="$arg"
  done
  for arg in "\${tags[@]}"; do
    if taken "$arg"; then echo "ERROR: failed to push: tag invalid: The image tag '$arg' already exists" >&2; return 1; fi
  done
  for arg in "\${tags[@]}"; do echo "$arg ${BUILT}" >>"$registry"; done
  # The SDK stand-in's ECR (ecrAnswers) holds the new image from now on.
  if [ -n "\${SDK_STAND_IN:-}" ]; then node -e "$sdk_push" "$SDK_STAND_IN" "\${tags[@]}"; fi
  echo "#12 pushing layers done" >&2
}
# shellcheck disable=SC2016
sdk_push='${SDK_PUSH}'
`;
}

/** node -e FILE TAG...: adds the image BUILT, with TAGs, to the SDK stand-in's DescribeImages. */
const SDK_PUSH = [
  'const fs = require("node:fs");',
  "const [file, ...tags] = process.argv.slice(1);",
  'const s = JSON.parse(fs.readFileSync(file, "utf8"));',
  `const image = { output: { imageDetails: [{ imageDigest: "${BUILT}", imageTags: tags }] } };`,
  `const ids = [{ imageDigest: "${BUILT}" }, ...tags.map((imageTag) => ({ imageTag }))];`,
  'const list = [].concat(s.answers["ECR.DescribeImages"] ?? []);',
  "for (const id of ids) list.unshift({ when: { imageIds: [id] }, ...image });",
  's.answers["ECR.DescribeImages"] = list;',
  "fs.writeFileSync(file, JSON.stringify(s));",
].join(" ");

/**
 * SDK stand-in answers (sdk-stand-in.ts) for the ECR repository holding `images` (digest -> its
 * tags): DescribeImages by tag or digest (ImageNotFoundException for others), the manifest, and
 * PutImage and BatchDeleteImage (a tag move); `docker buildx build --push` (ECR_ARMS) adds the
 * image it pushes.
 */
export function ecrAnswers(images: Record<string, string[]>): Answers {
  const detail = (digest: string, tags: string[]) => ({
    output: { imageDetails: [{ imageDigest: digest, imageTags: tags }] },
  });
  return {
    "ECR.DescribeImages": [
      ...Object.entries(images).flatMap(([digest, tags]) => [
        { when: { imageIds: [{ imageDigest: digest }] }, ...detail(digest, tags) },
        ...tags.map((tag) => ({
          when: { imageIds: [{ imageTag: tag }] },
          ...detail(digest, tags),
        })),
      ]),
      { error: "ImageNotFoundException" },
    ],
    "ECR.BatchGetImage": {
      output: {
        images: [
          {
            imageManifest: MANIFEST,
            imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
          },
        ],
      },
    },
    "ECR.PutImage": { output: {} },
    "ECR.BatchDeleteImage": { output: { failures: [] } },
  };
}

/** Case arms sending ECR and buildx calls to ecrRegistry's fake. */
export const ECR_ARMS = `
    "aws ecr describe-images"* | "aws ecr put-image"* | "aws ecr batch-"*) shift; fake_ecr "$@" ;;
    "docker buildx build"*) shift 2; fake_buildx "$@" ;;`;
