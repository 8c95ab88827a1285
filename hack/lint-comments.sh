#!/usr/bin/env bash
# Fails when a comment in production Go code (not under test/, not a
# _test.go file) points at documents (design notes, docs/), a benchmark's
# goal keys (P1, P7, ...) or the issue tracker's wording instead of saying
# why, or what it costs, in its own words. golangci-lint has no rule for the
# text of comments.
#
#   hack/lint-comments.sh FILE...
set -euo pipefail

pattern='(design|atlas-api|cluster)\.md|shared/|docs/|\bP[0-9]\b|[Tt]he issue\b'
status=0
for f in "$@"; do
  case $f in test/* | */test/* | *_test.go) continue ;; esac
  # Only comment text: everything after // on a line.
  if hits=$(grep -nE "//.*($pattern)" "$f"); then
    printf '%s:%s\n' "$f" "$hits" >&2
    status=1
  fi
done
if [ $status -ne 0 ]; then
  echo "comments must say why, or what it costs, in the code's own words; references and figures belong in docs/, not in code" >&2
fi
exit $status
