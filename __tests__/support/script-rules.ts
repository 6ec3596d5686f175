/**
 * Rules for the recording stand-ins (__tests__/support/fake-bin) shared by the scripts' tests: a
 * machine where every preflight check passes and a deploy that writes its outputs file.
 */

export const ACCOUNT = "123456789012";
export const REPOSITORY_URL = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/thumbnailer`;
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/thumbnailer-github-deploy`;
export const DIGEST = `sha256:${"ab12".repeat(16)}`;

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
    "aws --version") echo "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64" ;;
    "aws sts get-caller-identity"*) echo "${ACCOUNT}" ;;
    "docker buildx version") echo "github.com/docker/buildx v0.14.1 59582f8" ;;
    "docker info"*) echo "27.1.1" ;;
    "terraform version") echo "Terraform v1.11.4" ;;
    "gh auth status") echo "Logged in to github.com account acme-bot" ;;
    "gh repo view"*) echo "acme/thumbs" ;;
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
