#!/usr/bin/env bash
# End-to-end check of a deployed pipeline: uploads a fixture image to the source bucket and waits
# for its thumbnail, then checks its type and size. Run by .github/workflows/deploy.yml after
# each image rollout; works the same from a laptop.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/smoke-test.sh --function-name NAME [--source-bucket B] [--dest-bucket B]
                             [--region R] [--fixture FILE] [--timeout SECONDS] [--dry-run] [--help]

  1. Reads the function's configuration (buckets, SOURCE_PREFIX, DEST_PREFIX, THUMB_*), so the
     upload lands where the function listens and the thumbnail is looked for where it writes.
     Buckets given as options must match the function's (catches stale GitHub variables).
  2. Uploads the fixture (a 640x480 JPEG) under <SOURCE_PREFIX>smoke-test/.
  3. Waits for the thumbnail at DEST_PREFIX + that key (default timeout 120 s).
  4. Checks its Content-Type matches THUMB_FORMAT and its size fits THUMB_WIDTH x THUMB_HEIGHT
     (default 256x256, so 256x192 for the fixture), reading the size with file(1).
  5. Deletes the fixture and its thumbnail, whatever happened: by version ID where the bucket
     is versioned (the source is), so no delete marker or old version is left behind.

Options:
  --function-name NAME  the deployed function
  --source-bucket B     expected source bucket (default: the function's SOURCE_BUCKET)
  --dest-bucket B       expected destination bucket (default: the function's DEST_BUCKET)
  --region R            AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the AWS CLI's)
  --fixture FILE        image to upload (default: scripts/fixtures/smoke-test.jpg, 640x480)
  --timeout SECONDS     how long to wait for the thumbnail (default: 120)
  --dry-run             print every command it would run, and run none
  --help                show this help
Environment: SMOKE_TEST_POLL_SECONDS, seconds between checks for the thumbnail (default 3).
EOF
}

FUNCTION_NAME=""
SOURCE_BUCKET=""
DEST_BUCKET=""
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
FIXTURE="$ROOT/scripts/fixtures/smoke-test.jpg"
TIMEOUT=120
parse_flags "--function-name FUNCTION_NAME" "--source-bucket SOURCE_BUCKET" \
  "--dest-bucket DEST_BUCKET" "--region REGION" "--fixture FIXTURE" "--timeout TIMEOUT" -- "$@"
[ -n "$FUNCTION_NAME" ] || { usage >&2 && die "--function-name is required"; }
[ -f "$FIXTURE" ] || die "fixture $FIXTURE not found"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds, got '$TIMEOUT'"
POLL="${SMOKE_TEST_POLL_SECONDS:-3}"
if [ -z "$REGION" ] && [ "$DRY_RUN" = 0 ]; then REGION="$(aws configure get region || true)"; fi
if [ -z "$REGION" ] && [ "$DRY_RUN" = 1 ]; then REGION="<region>"; fi
[ -n "$REGION" ] || die "no AWS region: pass --region or set AWS_REGION"

step "Read $FUNCTION_NAME's configuration"
env_query='Environment.Variables.[SOURCE_BUCKET, DEST_BUCKET, SOURCE_PREFIX, DEST_PREFIX, THUMB_WIDTH, THUMB_HEIGHT, THUMB_FIT, THUMB_FORMAT]'
settings="$(run aws lambda get-function-configuration --function-name "$FUNCTION_NAME" \
  --region "$REGION" --query "$env_query" --output text)"
if [ "$DRY_RUN" = 1 ]; then
  settings="${SOURCE_BUCKET:-<source>} ${DEST_BUCKET:-<dest>} None None None None None None"
fi
read -r fn_source fn_dest source_prefix dest_prefix width height fit format <<<"$settings"
none() { if [ "$1" = None ] || [ -z "$1" ]; then printf '%s' "$2"; else printf '%s' "$1"; fi; }
source_prefix="$(none "$source_prefix" "")"
dest_prefix="$(none "$dest_prefix" "")"
width="$(none "$width" 256)"
height="$(none "$height" 256)"
fit="$(none "$fit" inside)"
format="$(none "$format" jpeg)"
for pair in "SOURCE_BUCKET:$SOURCE_BUCKET:$fn_source" "DEST_BUCKET:$DEST_BUCKET:$fn_dest"; do
  IFS=: read -r name given actual <<<"$pair"
  if [ -n "$given" ] && [ "$given" != "$actual" ]; then
    die "$name is '$given' but the function uses '$actual': update the GitHub variable (scripts/bootstrap.sh)"
  fi
done
info "source s3://$fn_source/$source_prefix -> thumbnails s3://$fn_dest/$dest_prefix (${width}x$height $fit $format)"

key="${source_prefix}smoke-test/${GITHUB_SHA:-manual}-$(date -u +%Y%m%d%H%M%S)-$$.jpg"
thumbnail_key="$dest_prefix$key"
thumbnail="$(mktemp "${TMPDIR:-/tmp}/thumbnailer-smoke.XXXXXX")"
source_version=""
thumbnail_version=""
# Deletes what the test made. The source bucket is versioned: a plain delete would only add a
# delete marker and keep the upload as a noncurrent version, so delete the exact versions.
delete_made() {
  local bucket="$1" key="$2" version="$3" delete
  delete=(aws s3api delete-object --bucket "$bucket" --key "$key" --region "$REGION")
  if [ -n "$version" ] && [ "$version" != None ]; then delete+=(--version-id "$version"); fi
  run "${delete[@]}" >/dev/null || info "could not delete s3://$bucket/$key: delete it by hand"
}
cleanup() {
  local status=$?
  step "Clean up"
  delete_made "$fn_source" "$key" "$source_version"
  delete_made "$fn_dest" "$thumbnail_key" "$thumbnail_version"
  rm -f "$thumbnail"
  exit "$status"
}
trap cleanup EXIT

step "Upload the fixture to s3://$fn_source/$key"
source_version="$(run aws s3api put-object --bucket "$fn_source" --key "$key" --body "$FIXTURE" \
  --content-type image/jpeg --region "$REGION" --query VersionId --output text)"

step "Wait up to ${TIMEOUT}s for s3://$fn_dest/$thumbnail_key"
head=(aws s3api head-object --bucket "$fn_dest" --key "$thumbnail_key" --region "$REGION"
  --query '[ContentType, VersionId]' --output text)
if [ "$DRY_RUN" = 1 ]; then
  run "${head[@]}"
  content_type="image/$format"
else
  waited=0
  until found="$("${head[@]}" 2>/dev/null)"; do
    if [ "$waited" -ge "$TIMEOUT" ]; then
      die "no thumbnail after ${TIMEOUT}s; see the function's logs: aws logs tail /aws/lambda/$FUNCTION_NAME --since 15m"
    fi
    sleep "$POLL"
    waited=$((waited + POLL))
  done
  read -r content_type thumbnail_version <<<"$found"
  info "appeared after about ${waited}s"
fi

step "Check the thumbnail"
run aws s3api get-object --bucket "$fn_dest" --key "$thumbnail_key" --region "$REGION" \
  "$thumbnail" >/dev/null
if [ "$DRY_RUN" = 1 ]; then
  info "would check: Content-Type image/$format, fits ${width}x$height ($fit)"
  exit 0
fi
[ "$content_type" = "image/$format" ] ||
  die "the thumbnail's Content-Type is '$content_type', expected image/$format"
description="$(file -b "$thumbnail")"
# The last WxH in file(1)'s description is the image size (JPEG descriptions start with density).
size="$(grep -oE '[0-9]+ ?x ?[0-9]+' <<<"$description" | tail -n 1 | tr -d ' ' || true)"
if [ -z "$size" ]; then
  info "file(1) reports no size for $format ('$description'): only the type was checked"
  exit 0
fi
w="${size%x*}"
h="${size#*x}"
info "${w}x$h $format"
# The fixture is 640x480 (4:3); the engine never enlarges.
if [ "$w" -gt "$width" ] || [ "$h" -gt "$height" ]; then
  die "the thumbnail is ${w}x$h, larger than ${width}x$height"
fi
if [ "$fit" = inside ]; then
  skew=$((w * 3 - h * 4))
  if [ "${skew#-}" -gt 4 ]; then die "the thumbnail is ${w}x$h: not the fixture's 4:3 shape"; fi
  if [ "$w" != "$width" ] && [ "$h" != "$height" ] && [ "$w" != 640 ]; then
    die "the thumbnail is ${w}x$h: neither side reaches ${width}x$height"
  fi
elif { [ "$w" != "$width" ] && [ "$w" != 640 ]; } || { [ "$h" != "$height" ] && [ "$h" != 480 ]; }; then
  die "the thumbnail is ${w}x$h, expected ${width}x$height ($fit)"
fi
step "Smoke test passed: s3://$fn_source/$key -> ${w}x$h image/$format"
