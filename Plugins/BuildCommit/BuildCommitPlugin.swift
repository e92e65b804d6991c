import Foundation
import PackagePlugin

/// Writes `BuildCommit.swift` (`let buildCommit = "…"`: the commit the package is built from,
/// `-dirty` when tracked files differ from it, `unknown` outside a git checkout) before every
/// build of the target that uses it. The file is rewritten only when the commit changes, so a
/// build with nothing new recompiles nothing.
@main
struct BuildCommitPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = #"""
            set -e
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ "$commit" != unknown ] && ! git -C "$1" diff --quiet HEAD -- 2>/dev/null; then
                commit="$commit-dirty"
            fi
            mkdir -p "$2"
            printf '// Written by the BuildCommit plugin.\nlet buildCommit = "%s"\n' "$commit" > "$2/.BuildCommit.new"
            if cmp -s "$2/.BuildCommit.new" "$2/BuildCommit.swift"; then
                rm "$2/.BuildCommit.new"
            else
                mv "$2/.BuildCommit.new" "$2/BuildCommit.swift"
            fi
            """#
        return [
            .prebuildCommand(
                displayName: "Recording the commit wxmediafs is built from",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, output.path],
                outputFilesDirectory: output)
        ]
    }
}
