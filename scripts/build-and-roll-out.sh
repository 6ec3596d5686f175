#!/usr/bin/env bash
# The Lambda stack's image build and rollout: `cdktf deploy` runs it from the project root
# (terraform_data.image-build's local-exec, stacks/rollout.ts) when the image inputs, tag,
# platform or repository change. Settings come from the environment the stack sets.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/build-and-roll-out.sh [--help]

Run by `cdktf deploy` (the lambda stack's terraform_data.image-build) whenever the image inputs,
tag, platform or repository change; not meant to be run by hand. In order:

  1. reads the image the function runs (nothing before the first deploy);
  2. scripts/check-rollout.sh (ops/rollout-guard.ts) refuses a stale or uncommitted checkout,
     and a function whose image is not from REPOSITORY_URL (no override), and prints the
     commit that holds the image inputs;
  3. scripts/push-image.sh builds and pushes the image (or reuses a tag holding these inputs)
     and prints its digest;
  4. unless the function changed meanwhile (CI deployed: nothing is rolled out, deploy again),
     points the function at REPOSITORY_URL@DIGEST with ARCHITECTURE in one update and waits;
     when the function does not exist yet, the deploy creates it from this image instead;
  5. scripts/tag-deployed.sh tags the image `deployed` (and the one it replaced `previous`),
     the tags ECR expiry never removes.

Progress goes to stderr; stdout says what the function runs now.

Environment (all required; the stack sets them):
  REPOSITORY_URL   ECR repository, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnailer
  TAG              the tag to push
  INPUTS_HASH      sha256 of the image inputs (stacks/image-inputs.ts)
  IMAGE_INPUTS     the image inputs, one path a line, relative to the project root
  PLATFORM         linux/amd64 or linux/arm64
  ARCHITECTURE     x86_64 or arm64 (the function's, matching PLATFORM)
  REGION           the deployment's region
  FUNCTION_NAME    the function
THUMBNAILER_ALLOW_ROLLBACK=1, from the deploy's own environment, lets one deploy roll back or
deploy uncommitted inputs (scripts/check-rollout.sh).
EOF
}

for arg in "$@"; do
  case "$arg" in
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown option: $arg (settings come from the environment)" ;;
  esac
done
missing=()
for name in REPOSITORY_URL TAG INPUTS_HASH IMAGE_INPUTS PLATFORM ARCHITECTURE REGION FUNCTION_NAME; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
[ "${#missing[@]}" = 0 ] || die "not set: ${missing[*]} (see --help)"

# The rollout's own steps; the scripts it runs number theirs (==> [n]) inside each.
PHASE=0
phase() {
  PHASE=$((PHASE + 1))
  printf '\n### rollout step %d: %s\n' "$PHASE" "$*" >&2
}

# Tags the pushed image `deployed` (and what the function ran, if anything, `previous`).
tag_deployed() {
  phase "Tag the images ECR expiry must keep (scripts/tag-deployed.sh)"
  bash "$ROOT/scripts/tag-deployed.sh" --repository-url "$REPOSITORY_URL" --deployed "$digest" \
    ${previous:+--previous "$previous"} --region "$REGION"
}

phase "Read what $FUNCTION_NAME runs"
# The image it runs, or nothing when it does not exist yet (ops/function-code.ts).
previous="$(node_tool function-code running --function-name "$FUNCTION_NAME" --region "$REGION")"
info "${previous:-nothing: the function does not exist yet}"

phase "Check the checkout against it (scripts/check-rollout.sh)"
commit="$(bash "$ROOT/scripts/check-rollout.sh" --repository-url "$REPOSITORY_URL" \
  --region "$REGION" --running "$previous" --image-inputs "$IMAGE_INPUTS")"

phase "Build and push $REPOSITORY_URL:$TAG for $PLATFORM (scripts/push-image.sh)"
digest="$(bash "$ROOT/scripts/push-image.sh" --repository-url "$REPOSITORY_URL" --tag "$TAG" \
  --inputs-hash "$INPUTS_HASH" --commit "$commit" --platform "$PLATFORM" --region "$REGION" |
  tail -n 1)"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] ||
  die "scripts/push-image.sh printed no digest (last line: '$digest')"

phase "Point $FUNCTION_NAME at $digest"
# Only if it still runs $previous (CI may have deployed meanwhile); one update, then the wait.
outcome="$(node_tool function-code point --function-name "$FUNCTION_NAME" --region "$REGION" \
  --image "$REPOSITORY_URL@$digest" --architecture "$ARCHITECTURE" --previous "$previous")"
if [ "$outcome" = absent ]; then
  info "$FUNCTION_NAME does not exist yet: this deploy creates it from the image"
  tag_deployed
  echo "$FUNCTION_NAME does not exist yet: it will be created from $digest"
  exit 0
fi
echo "$FUNCTION_NAME now runs $REPOSITORY_URL@$digest"

tag_deployed
