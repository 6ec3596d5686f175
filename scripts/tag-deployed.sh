#!/usr/bin/env bash
# Marks the image the function now runs `deployed` and the one it ran before `previous`: the two
# tags the ECR lifecycle policy never expires (stacks/dependencies-stack.ts). Called after every
# rollout: by `cdktf deploy` (scripts/build-and-roll-out.sh) and by .github/workflows/deploy.yml.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/tag-deployed.sh --repository-url URL --deployed sha256:DIGEST
                               [--previous IMAGE_URI] [--region REGION] [--dry-run] [--help]

Tags the image URL@DIGEST `deployed`, and the image the function ran before it (IMAGE_URI,
e.g. Code.ResolvedImageUri of `aws lambda get-function` before the update) `previous`. Tags are
immutable in this repository, so a tag is moved by removing it from the image that has it
(batch-delete-image of a tag keeps an image that has other tags, and every pushed image has its
build tag) and putting it on the new one. `previous` moves first, so the image being replaced
always keeps one protected tag. A `previous` from another repository is left alone.

Options:
  --repository-url URL  ECR repository, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnailer
  --deployed DIGEST     the digest the function now runs
  --previous IMAGE_URI  the image it ran before (REPOSITORY_URL@sha256:...); omit on a first deploy
  --region REGION       the repository's region (default: read from URL)
  --dry-run             print every command it would run, and run none
  --help                show this help
EOF
}

REPOSITORY_URL=""
DEPLOYED=""
PREVIOUS=""
REGION=""
parse_flags "--repository-url REPOSITORY_URL" "--deployed DEPLOYED" "--previous PREVIOUS" \
  "--region REGION" -- "$@"

DIGEST_PATTERN='^sha256:[0-9a-f]{64}$'
ecr_repository
[[ "$DEPLOYED" =~ $DIGEST_PATTERN ]] || die "--deployed '$DEPLOYED' is not an image digest (sha256:<64 hex>)"

# Puts `tag` on `digest`, taking it off the image that has it.
move_tag() {
  local tag="$1" digest="$2" current
  if [ "$DRY_RUN" = 1 ]; then
    info "would move $tag to $digest (batch-delete-image imageTag=$tag, then put-image)"
    return 0
  fi
  current="$(image_digest "$tag")"
  if [ "$current" = "$digest" ]; then
    info "$tag is already $digest"
    return 0
  fi
  if [ -n "$current" ]; then run ecr batch-delete-image --image-ids "imageTag=$tag" >/dev/null; fi
  add_image_tag "$tag" "$digest"
  info "$tag is now $digest${current:+ (was $current)}"
}

step "Protect the deployed and previous images of $REPOSITORY_URL from expiry"
if [ -n "$PREVIOUS" ]; then
  previous_digest="${PREVIOUS##*@}"
  if [ "${PREVIOUS%@*}" != "$REPOSITORY_URL" ] || [[ ! "$previous_digest" =~ $DIGEST_PATTERN ]]; then
    info "the previous image $PREVIOUS is not in $REPOSITORY_NAME: not tagged"
  elif [ "$previous_digest" != "$DEPLOYED" ]; then
    move_tag previous "$previous_digest"
  fi
fi
move_tag deployed "$DEPLOYED"
