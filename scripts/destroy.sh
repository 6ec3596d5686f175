#!/usr/bin/env bash
# Tears down the thumbnail pipeline and removes the GitHub settings bootstrap.sh created.
# See docs/ship.md.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/destroy.sh [--repo OWNER/NAME] [--yes] [--dry-run] [--help]

Destroys both stacks of the thumbnail pipeline, then deletes the GitHub repository variables
and secret that scripts/bootstrap.sh set, so the deploy workflow stops deploying.

  1. Preflight: AWS CLI v2 with working credentials, Node.js with dependencies installed, the
     GitHub CLI authenticated.
  2. Confirmation: asks before destroying anything, unless --yes.
  3. npx cdktf destroy '*'. Buckets that still hold objects are kept (and the destroy fails)
     unless THUMBNAILER_FORCE_DESTROY_BUCKETS=true was deployed: see docs/deploy.md.
  4. gh variable delete / gh secret delete for each setting bootstrap.sh made.

Use the same THUMBNAILER_* settings (or cdktf.json context) the deployment was made with.

Options:
  --repo OWNER/NAME  GitHub repository to clean up (default: THUMBNAILER_GITHUB_REPOSITORY or
                     cdktf.json githubRepository if set, else the one this checkout belongs to)
  --yes              do not ask for confirmation
  --dry-run          print every command it would run, and run none
  --help             show this help
EOF
}

GITHUB_REPO=""
CONFIRMED=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --repo)
      [ "$#" -ge 2 ] || die "--repo needs OWNER/NAME"
      GITHUB_REPO="$2"
      shift 2
      ;;
    --yes) CONFIRMED=1 && shift ;;
    --dry-run) DRY_RUN=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown option: $1" ;;
  esac
done
cd "$ROOT"

step "Preflight checks"
AWS_ACCOUNT="<account>"
if [ "$DRY_RUN" = 1 ]; then
  run aws --version
  run aws sts get-caller-identity --query Account --output text
  run node --version
  run gh auth status
  [ -n "$GITHUB_REPO" ] || run gh repo view --json nameWithOwner --jq .nameWithOwner
  GITHUB_REPO="${GITHUB_REPO:-<owner/name>}"
else
  check_aws
  check_node
  check_configured_repo
  check_gh
  end_preflight
fi

step "Confirm"
if [ "$DRY_RUN" = 1 ]; then
  info "dry run: would ask for confirmation unless --yes"
elif [ "$CONFIRMED" = 1 ]; then
  info "confirmed by --yes"
else
  printf '    Destroy the thumbnail pipeline in AWS account %s, and its deploy settings in %s? [y/N] ' \
    "$AWS_ACCOUNT" "$GITHUB_REPO" >&2
  answer=""
  read -r answer || true
  case "$answer" in
    y | Y | yes | YES | Yes) ;;
    *)
      info "not confirmed: aborted, nothing was destroyed"
      exit 1
      ;;
  esac
fi

step "Destroy both stacks (cdktf destroy)"
# The GitHub deploy role exists only when the repository is configured: say which one it was.
export THUMBNAILER_GITHUB_REPOSITORY="${THUMBNAILER_GITHUB_REPOSITORY:-$GITHUB_REPO}"
run npx cdktf destroy '*' --auto-approve

step "Remove the deploy settings from $GITHUB_REPO"
for row in "${GITHUB_SETTINGS[@]}"; do
  read -r kind name _ <<<"$row"
  if ! run gh "$kind" delete "$name" --repo "$GITHUB_REPO"; then
    info "$kind $name was not set"
  fi
done

if [ "$DRY_RUN" = 1 ]; then
  step "Done (dry run: nothing was run)"
else
  step "Done"
  info "The pipeline and its GitHub deploy settings are gone."
fi
