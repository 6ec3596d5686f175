#!/usr/bin/env bash
# Builds the function's container image for one platform and pushes it to ECR; prints its digest.
# Called by `cdktf deploy` (stacks/lambda-stack.ts) and by .github/workflows/deploy.yml.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/push-image.sh --repository-url URL --platform linux/amd64|linux/arm64
                             [--tag TAG] [--region REGION] [--no-login] [--dry-run] [--help]

Builds the Dockerfile with docker buildx for the function's platform, without provenance
attestations (Lambda rejects images that carry them), pushes it as URL:TAG and prints the
image digest (sha256:...) as the last line of stdout. Progress goes to stderr.

If URL:TAG is already in the repository (ECR tags are immutable here), nothing is built and
the existing image's digest is printed: re-running a deploy is safe.

Options:
  --repository-url URL  ECR repository, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnailer
  --platform PLATFORM   linux/amd64 (function architecture x86_64) or linux/arm64 (arm64)
  --tag TAG             image tag (default: the git commit, with -dirty-<time> if the tree has changes)
  --region REGION       the repository's region (default: read from URL)
  --no-login            skip `docker login` (the caller has logged in, e.g. amazon-ecr-login in CI)
  --dry-run             print every command it would run, and run none
  --help                show this help
EOF
}

REPOSITORY_URL=""
PLATFORM=""
TAG=""
REGION=""
LOGIN=1
parse_flags "--repository-url REPOSITORY_URL" "--platform PLATFORM" "--tag TAG" "--region REGION" \
  "--no-login LOGIN=0" -- "$@"

# <account>.dkr.ecr.<region>.amazonaws.com/<name>
[ -n "$REPOSITORY_URL" ] || { usage >&2 && die "--repository-url is required"; }
case "$REPOSITORY_URL" in
  *.dkr.ecr.*.amazonaws.com/* | *.dkr.ecr.*.amazonaws.com.cn/*) ;;
  *) die "--repository-url '$REPOSITORY_URL' is not an ECR repository URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)" ;;
esac
REGISTRY="${REPOSITORY_URL%%/*}"
REPOSITORY_NAME="${REPOSITORY_URL#*/}"
if [ -z "$REGION" ]; then
  REGION="${REGISTRY#*.dkr.ecr.}"
  REGION="${REGION%%.*}"
fi
case "$PLATFORM" in
  linux/amd64 | linux/arm64) ;;
  "") usage >&2 && die "--platform is required: linux/amd64 or linux/arm64" ;;
  *) die "--platform '$PLATFORM' is not supported: use linux/amd64 (x86_64) or linux/arm64 (arm64)" ;;
esac
if [ -z "$TAG" ]; then
  TAG="$(git -C "$ROOT" rev-parse HEAD)"
  if [ -n "$(git -C "$ROOT" status --porcelain)" ]; then TAG="$TAG-dirty-$(date -u +%Y%m%d%H%M%S)"; fi
fi

# The digest ECR holds for URL:TAG (what Lambda will run), or nothing if the tag is not there.
pushed_digest() {
  local out errors status=0
  errors="$(mktemp "${TMPDIR:-/tmp}/push-image.XXXXXX")"
  out="$(aws ecr describe-images --region "$REGION" --repository-name "$REPOSITORY_NAME" \
    --image-ids "imageTag=$TAG" --query 'imageDetails[0].imageDigest' --output text \
    2>"$errors")" || status=$?
  local message
  message="$(cat "$errors")"
  rm -f "$errors"
  if [ "$status" = 0 ]; then
    case "$out" in
      sha256:*) printf '%s' "$out" ;;
      *) die "ECR lists $REPOSITORY_URL:$TAG without a digest (got '$out')" ;;
    esac
  elif [[ "$message" != *ImageNotFoundException* ]]; then
    die "cannot look up $REPOSITORY_URL:$TAG: $message"
  fi
}

step "Is $REPOSITORY_URL:$TAG already pushed?"
if [ "$DRY_RUN" = 1 ]; then
  run aws ecr describe-images --region "$REGION" --repository-name "$REPOSITORY_NAME" \
    --image-ids "imageTag=$TAG" --query 'imageDetails[0].imageDigest' --output text
  existing=""
else
  existing="$(pushed_digest)"
fi
if [ -n "$existing" ]; then
  info "yes, as $existing: nothing to build"
  printf '%s\n' "$existing"
  exit 0
fi

if [ "$LOGIN" = 1 ]; then
  step "Log in to $REGISTRY"
  login="aws ecr get-login-password --region $REGION | docker login --username AWS --password-stdin $REGISTRY"
  if [ "$DRY_RUN" = 1 ]; then
    info "would run: $login"
  else
    info "\$ $login"
    # One after the other (not a pipe) so a failure of either stops here with its own message.
    password="$(aws ecr get-login-password --region "$REGION")"
    printf '%s' "$password" | docker login --username AWS --password-stdin "$REGISTRY" >&2
    unset password
  fi
fi

step "Build for $PLATFORM and push $REPOSITORY_URL:$TAG"
run docker buildx build --platform "$PLATFORM" --provenance=false --sbom=false \
  --tag "$REPOSITORY_URL:$TAG" --push --file "$ROOT/Dockerfile" "$ROOT" >&2

step "Read the pushed image's digest"
if [ "$DRY_RUN" = 1 ]; then
  run aws ecr describe-images --region "$REGION" --repository-name "$REPOSITORY_NAME" \
    --image-ids "imageTag=$TAG" --query 'imageDetails[0].imageDigest' --output text
  exit 0
fi
digest="$(pushed_digest)"
[ -n "$digest" ] || die "ECR does not list $REPOSITORY_URL:$TAG after the push"
info "pushed $REPOSITORY_URL@$digest"
printf '%s\n' "$digest"
