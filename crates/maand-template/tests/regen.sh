#!/usr/bin/env bash
# Regenerates the expected outputs of tests/cases/*.tpl by rendering each case
# with Go's own text/template (tests/gogen/main.go, standard library only).
# Go 1.19 is the reference (spec 05, "Engine"); CI does not need Go because the
# generated .out/.err files are committed. Decisions where maand deliberately
# differs from Go live in tests/overrides.txt, never in generated files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/gogen"
GO111MODULE=off GOFLAGS= go run main.go "$here/cases"
