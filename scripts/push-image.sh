#!/usr/bin/env bash
# Builds the function's container image for one platform and pushes it to ECR; prints its digest.
# Called by `cdktf deploy` (scripts/build-and-roll-out.sh) and by .github/workflows/deploy.yml.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/push-image.sh --repository-url URL --platform linux/amd64|linux/arm64
                             [--tag TAG] [--inputs-hash HASH [--commit SHA]] [--region REGION]
                             [--no-login]
                             [--dry-run] [--help]

Builds the Dockerfile with docker buildx for the function's platform, without provenance
attestations (Lambda rejects images that carry them), pushes it as URL:TAG and prints the
image digest (sha256:...) as the last line of stdout. Progress goes to stderr.

If URL:TAG is already in the repository (ECR tags are immutable here), nothing is built and
the existing image's digest is printed: re-running a deploy is safe.

With --inputs-hash (what `cdktf deploy` passes: the hash of the image inputs,
stacks/image-inputs.ts), the image also gets the tag inputs-<amd64|arm64>-HASH, the record of
what it was built from, and an existing URL:TAG is used only if it holds these inputs:
  - its image has this inputs tag: nothing to build;
  - it has another inputs tag (other code, or another platform): refused, since deploying it
    would run other code than the checkout's: set a new imageTag or unset it;
  - it has none: refused (pushed before images recorded their inputs), unless TAG is a commit
    SHA (CI's tags), which identifies the code by itself.
If URL:TAG is not there but an image of these inputs is, that image is tagged TAG instead of
being built again.
With --commit as well, an image that holds these inputs (new, reused or re-tagged) also gets the
tag commit-<amd64|arm64>-SHA.

Options:
  --repository-url URL  ECR repository, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnailer
  --platform PLATFORM   linux/amd64 (function architecture x86_64) or linux/arm64 (arm64)
  --tag TAG             image tag (default: the git commit, with -dirty-<time> if the tree has changes)
  --inputs-hash HASH    sha256 (64 hex) of the image inputs: record it, and check an existing tag
  --commit SHA          the commit that holds the image inputs (scripts/check-rollout.sh prints it):
                        recorded as the tag commit-<amd64|arm64>-SHA, so a later deploy can tell
                        which code the function runs; empty: none (with --inputs-hash only)
  --region REGION       the repository's region (default: read from URL)
  --no-login            skip `docker login` (the caller has logged in, e.g. amazon-ecr-login in CI)
  --dry-run             print every command it would run, and run none
  --help                show this help
EOF
}

REPOSITORY_URL=""
PLATFORM=""
TAG=""
INPUTS_HASH=""
COMMIT=""
REGION=""
LOGIN=1
parse_flags "--repository-url REPOSITORY_URL" "--platform PLATFORM" "--tag TAG" \
  "--inputs-hash INPUTS_HASH" "--commit COMMIT" "--region REGION" "--no-login LOGIN=0" -- "$@"

[ -n "$REPOSITORY_URL" ] || { usage >&2 && die "--repository-url is required"; }
# ops/image-tags.ts checks the URL and tells its region.
REGION="$(node_tool image-tags region --repository-url "$REPOSITORY_URL" --region "$REGION")"
REGISTRY="${REPOSITORY_URL%%/*}"
case "$PLATFORM" in
  linux/amd64 | linux/arm64) ;;
  "") usage >&2 && die "--platform is required: linux/amd64 or linux/arm64" ;;
  *) die "--platform '$PLATFORM' is not supported: use linux/amd64 (x86_64) or linux/arm64 (arm64)" ;;
esac
if [ -z "$TAG" ]; then
  TAG="$(git -C "$ROOT" rev-parse HEAD)"
  if [ -n "$(git -C "$ROOT" status --porcelain)" ]; then TAG="$TAG-dirty-$(date -u +%Y%m%d%H%M%S)"; fi
fi

# The tags that record what the image is built from and the commit that holds it (this --help
# says which): ops/image-tags.ts names and checks them, one a line, empty for one not recorded.
# It only computes names (no AWS call), so it runs in a dry run too.
tag_names="$(node_tool image-tags record-tags --platform "$PLATFORM" --inputs-hash "$INPUTS_HASH" \
  --commit "$COMMIT")" || exit 1
mapfile -t tag_names <<<"$tag_names"
INPUTS_TAG="${tag_names[0]:-}"
COMMIT_TAG="${tag_names[1]:-}"

# Whether to build at all is ops/image-tags.ts's decision (this --help says what it decides).
image_tags() { node_tool image-tags "$1" --repository-url "$REPOSITORY_URL" --region "$REGION" "${@:2}"; }

step "Is $REPOSITORY_URL:$TAG already pushed?"
if [ "$DRY_RUN" = 1 ]; then
  info "would look it up (ecr:DescribeImages) and build only if it is not${INPUTS_TAG:+, or refuse unless it holds $INPUTS_TAG}"
else
  existing="$(image_tags existing --tag "$TAG" --inputs-tag "$INPUTS_TAG" --commit-tag "$COMMIT_TAG")" ||
    exit 1
  if [ "$existing" != build ]; then
    printf '%s\n' "$existing"
    exit 0
  fi
fi

if [ "$LOGIN" = 1 ]; then
  step "Log in to $REGISTRY"
  # The password comes from ECR GetAuthorizationToken on the SDK (ops/aws-account.ts) and goes
  # only to docker's stdin.
  login="docker login --username AWS --password-stdin $REGISTRY"
  if [ "$DRY_RUN" = 1 ]; then
    info "would run: $login (password: ecr:GetAuthorizationToken)"
  else
    info "\$ $login"
    # One after the other (not a pipe) so a failure of either stops here with its own message.
    password="$(node_tool aws-account ecr-password --region "$REGION")" ||
      die "cannot get an ECR login password: see the error above"
    printf '%s' "$password" | docker login --username AWS --password-stdin "$REGISTRY" >&2
    unset password
  fi
fi

step "Build for $PLATFORM and push $REPOSITORY_URL:$TAG"
tags=(--tag "$REPOSITORY_URL:$TAG")
for tag in "$INPUTS_TAG" "$COMMIT_TAG"; do
  if [ -n "$tag" ] && [ "$tag" != "$TAG" ]; then tags+=(--tag "$REPOSITORY_URL:$tag"); fi
done
run docker buildx build --platform "$PLATFORM" --provenance=false --sbom=false \
  "${tags[@]}" --push --file "$ROOT/Dockerfile" "$ROOT" >&2
if [ "$DRY_RUN" = 1 ]; then exit 0; fi

step "Read the pushed image's digest"
digest="$(image_tags pushed --tag "$TAG")" || exit 1
info "pushed $REPOSITORY_URL@$digest"
printf '%s\n' "$digest"
