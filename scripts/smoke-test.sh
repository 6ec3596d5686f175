#!/usr/bin/env bash
# End-to-end check of a deployed pipeline: uploads a fixture image to the source bucket, waits
# for every output the function's configuration makes of it, checks each one's type and size,
# and deletes what it made. The whole test runs in ops/smoke-test.ts on the AWS SDK (its --help
# is this script's). Run by .github/workflows/deploy.yml after each image rollout and by
# npm run rollback; works the same from a laptop.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

# node_tool runs from the project root: a relative --fixture is read from here.
SMOKE_TEST_CALLER_DIR="$PWD" node_tool smoke-test "$@"
