#!/usr/bin/env bash
# End-to-end check of a deployed pipeline: uploads a fixture image to the source bucket, waits
# for every output the function's configuration makes of it and checks each one's type and size
# (what to expect is decided by ops/smoke-test.ts). Run by .github/workflows/deploy.yml after
# each image rollout; works the same from a laptop.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/smoke-test.sh --function-name NAME [--source-bucket B] [--dest-bucket B]
                             [--region R] [--fixture FILE] [--timeout SECONDS] [--dry-run] [--help]

  1. Reads the function's configuration and its source bucket's notification. Buckets given as
     options must match the function's (catches stale GitHub variables).
  2. Decides (ops/smoke-test.ts) what to upload and what to expect: the key goes under
     <SOURCE_PREFIX>smoke-test/ and ends with the notification's suffix, so it triggers the
     function; the outputs are every rendition the function's own configuration (RENDITIONS, or
     the THUMB_* settings) makes, at the handler's own keys, with the format and size its engine
     gives the fixture.
  3. Uploads the fixture (a 640x480 JPEG).
  4. Waits for each output (default timeout 120 s in all).
  5. Checks each one's Content-Type, format and size.
  6. Deletes the fixture and every output, whatever happened: by version ID where the bucket
     is versioned (the source is), so no delete marker or old version is left behind.

Options:
  --function-name NAME  the deployed function
  --source-bucket B     expected source bucket (default: the function's SOURCE_BUCKET)
  --dest-bucket B       expected destination bucket (default: the function's DEST_BUCKET)
  --region R            AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the AWS CLI's)
  --fixture FILE        image to upload (default: scripts/fixtures/smoke-test.jpg, 640x480)
  --timeout SECONDS     how long to wait for the outputs (default: 120)
  --dry-run             print the commands that read the deployment, and run none
  --help                show this help
Environment: SMOKE_TEST_POLL_SECONDS, seconds between checks for an output (default 3).
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

work="$(mktemp -d "${TMPDIR:-/tmp}/thumbnailer-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT

step "Read $FUNCTION_NAME's configuration and its source bucket's notification"
run aws lambda get-function-configuration --function-name "$FUNCTION_NAME" --region "$REGION" \
  --output json >"$work/function.json"
if [ "$DRY_RUN" = 1 ]; then
  run aws s3api get-bucket-notification-configuration --bucket "${SOURCE_BUCKET:-<source>}" \
    --region "$REGION" --output json
  info "would upload the fixture where the notification triggers the function, wait for every output its configuration makes (ops/smoke-test.ts), check and delete them"
  exit 0
fi
buckets="$(smoke_test buckets "$work/function.json" "$SOURCE_BUCKET" "$DEST_BUCKET")" ||
  die "the function's buckets: see the error above"
IFS=$'\t' read -r fn_source fn_dest <<<"$buckets"
run aws s3api get-bucket-notification-configuration --bucket "$fn_source" --region "$REGION" \
  --output json >"$work/notification.json"
plan="$(smoke_test plan "$work/function.json" "$work/notification.json" "$FIXTURE" \
  "${GITHUB_SHA:-manual}-$(date -u +%Y%m%d%H%M%S)-$$")" ||
  die "this deployment cannot pass the smoke test: see the error above"
IFS=$'\t' read -r _ key content_type < <(grep '^upload' <<<"$plan")
mapfile -t expected < <(grep '^expect' <<<"$plan")
for line in "${expected[@]}"; do
  IFS=$'\t' read -r _ output_key name format size _ <<<"$line"
  info "$name: s3://$fn_dest/$output_key, $size $format"
done

source_version=""
output_versions=()
# Deletes what the test made. The source bucket is versioned: a plain delete would only add a
# delete marker and keep the upload as a noncurrent version, so delete the exact versions.
delete_made() {
  local bucket="$1" key="$2" version="$3" delete
  delete=(aws s3api delete-object --bucket "$bucket" --key "$key" --region "$REGION")
  if [ -n "$version" ] && [ "$version" != None ]; then delete+=(--version-id "$version"); fi
  run "${delete[@]}" >/dev/null || info "could not delete s3://$bucket/$key: delete it by hand"
}
cleanup() {
  local status=$? i output_key
  step "Clean up"
  delete_made "$fn_source" "$key" "$source_version"
  for i in "${!expected[@]}"; do
    IFS=$'\t' read -r _ output_key _ <<<"${expected[$i]}"
    delete_made "$fn_dest" "$output_key" "${output_versions[$i]:-}"
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

step "Upload the fixture to s3://$fn_source/$key"
source_version="$(run aws s3api put-object --bucket "$fn_source" --key "$key" --body "$FIXTURE" \
  --content-type "$content_type" --region "$REGION" --query VersionId --output text)"

step "Wait up to ${TIMEOUT}s for each output in s3://$fn_dest, and check it"
waited=0
for i in "${!expected[@]}"; do
  IFS=$'\t' read -r _ output_key name _ <<<"${expected[$i]}"
  head=(aws s3api head-object --bucket "$fn_dest" --key "$output_key" --region "$REGION"
    --query '[ContentType, VersionId]' --output text)
  until found="$("${head[@]}" 2>/dev/null)"; do
    if [ "$waited" -ge "$TIMEOUT" ]; then
      die "no $name output at s3://$fn_dest/$output_key after ${TIMEOUT}s; see the function's logs: aws logs tail /aws/lambda/$FUNCTION_NAME --since 15m"
    fi
    sleep "$POLL"
    waited=$((waited + POLL))
  done
  IFS=$'\t' read -r served_type "output_versions[$i]" <<<"$found"
  info "$name appeared after about ${waited}s"
  run aws s3api get-object --bucket "$fn_dest" --key "$output_key" --region "$REGION" \
    "$work/output" >/dev/null
  checked="$(smoke_test check "$work/output" "$served_type" "${expected[$i]}")" ||
    die "the $name output is not what the function's configuration makes"
  info "$checked"
done
step "Smoke test passed: s3://$fn_source/$key -> ${#expected[@]} output(s) in s3://$fn_dest"
