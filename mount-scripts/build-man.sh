#!/usr/bin/env bash
# The manual page wxmediafs(1), docs/wxmediafs.1, is written by swift-argument-parser's manual
# generator from the command line's own definition; it is kept in the repository so installing
# needs no build. This script writes it again (after a change to a command's options or help),
# or with --check fails if the page in the repository differs from what the code would write
# (the date line aside): the test command runs that. Usage: bash mount-scripts/build-man.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."

# The page depends only on the commands' definitions: the debug build the tests use serves.
swift package plugin generate-manual --configuration debug >&2
generated=.build/plugins/GenerateManual/outputs/wxmediafs/wxmediafs.1
# A blank line inside a command's discussion is a new paragraph to mdoc (.Pp), not an empty
# input line, which groff warns about.
fresh=$(sed 's/^$/.Pp/' "$generated")
if [[ ${1:-} == --check ]]; then
    if ! diff <(grep -v '^\.Dd ' docs/wxmediafs.1) <(grep -v '^\.Dd ' <<<"$fresh") >&2; then
        echo "build-man: docs/wxmediafs.1 differs from the command line's definition (above);" \
            "write it again with: bash mount-scripts/build-man.sh" >&2
        exit 1
    fi
    echo "build-man: docs/wxmediafs.1 matches the command line" >&2
else
    printf '%s\n' "$fresh" > docs/wxmediafs.1
    echo "build-man: wrote docs/wxmediafs.1" >&2
fi
