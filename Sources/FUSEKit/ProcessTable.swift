import Foundation

/// What /proc says of the processes that make requests. FUSE names the calling thread (the
/// kernel's `current->pid`), not its process: two threads of one program are one opener.
public enum ProcessTable {
    /// The process (thread group) thread `id` belongs to; `id` itself when /proc cannot tell.
    public static func process(ofThread id: Int32) -> Int32 {
        guard id > 0, let status = try? String(contentsOfFile: "/proc/\(id)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Tgid:") }),
            let group = Int32(line.dropFirst("Tgid:".count).trimmingCharacters(in: .whitespaces))
        else { return id }
        return group
    }

    /// Whether process `pid` exists and has not exited (a zombie, waiting for its parent to reap
    /// it, has exited).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let state = stat.split(separator: ")").last?.split(separator: " ").first
        else { return false }
        return state != "Z"
    }
}
