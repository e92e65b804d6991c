import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The upload queues' folders: the temporary-media folders' uploads, and the material
/// library's adds, numbered by their own tables' ids.
public enum QueueFolder: String, CaseIterable, Sendable {
    case media = "queue"
    case material = "material-queue"
}

/// The upload queues' files: `queue/ENTRY.GENERATION` holds the bytes of catalog entry ENTRY as
/// closed for the GENERATION-th time, and `queue/ENTRY.GENERATION.failed` why its upload failed
/// (`material-queue/` likewise for material). A file is in a queue only once it and its folder
/// are on disk (fsync), so a crash after `close()` returned loses nothing.
extension ContentCache {
    /// One queued file found on disk.
    public struct QueuedFile: Sendable, Equatable {
        public var entryID: Int64
        public var generation: UInt64
        public var path: String
        /// When it was queued (nanoseconds since 1970), for oldest-first after a restart.
        public var queuedAt: Int64
        /// The failure recorded for it, if its upload failed.
        public var failure: Data?
    }

    public func queuePath(_ folder: QueueFolder, entryID: Int64, generation: UInt64) -> String {
        root + "/\(folder.rawValue)/\(entryID).\(generation)"
    }

    /// Makes the spool file open at `descriptor` (at `spoolPath`) durable, then moves it into
    /// queue `folder`; returns its path there.
    public func enqueue(
        spoolPath: String, descriptor: Int32, into folder: QueueFolder, entryID: Int64, generation: UInt64
    ) throws -> String {
        guard fsync(descriptor) == 0 else { throw Self.posixError() }
        let path = queuePath(folder, entryID: entryID, generation: generation)
        guard rename(spoolPath, path) == 0 else { throw Self.posixError() }
        guard syncFolder(root + "/" + folder.rawValue) else {
            let error = Self.posixError()
            rename(path, spoolPath)
            throw error
        }
        return path
    }

    /// Records why the upload of `path` failed, beside it (durable, like the bytes).
    public func recordFailure(_ failure: Data, ofQueued path: String) {
        let record = path + ".failed"
        let descriptor = open(record + ".new", O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        let written = failure.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        if written == failure.count, synced { rename(record + ".new", record) } else { unlink(record + ".new") }
    }

    /// Removes a queued file and its failure record.
    public func removeQueued(_ path: String) {
        unlink(path)
        unlink(path + ".failed")
    }

    /// The files of queue `queue` on disk, one per entry (its newest generation: older ones are
    /// removed), oldest first.
    public func queuedFiles(in queue: QueueFolder) -> [QueuedFile] {
        let folder = root + "/" + queue.rawValue
        var newest: [Int64: QueuedFile] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let path = folder + "/" + name
            let parts = name.split(separator: ".")
            guard parts.count == 2, let entryID = Int64(parts[0]), let generation = UInt64(parts[1]) else {
                // A failure record goes with its file; a half-written record or a stranger goes.
                if !(name.hasSuffix(".failed") && FileManager.default.fileExists(atPath: String(path.dropLast(7)))) {
                    unlink(path)
                }
                continue
            }
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            let found = QueuedFile(
                entryID: entryID, generation: generation, path: path,
                queuedAt: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                failure: FileManager.default.contents(atPath: path + ".failed"))
            if let other = newest[entryID] {
                let (kept, dropped) = other.generation > generation ? (other, found) : (found, other)
                removeQueued(dropped.path)
                newest[entryID] = kept
            } else {
                newest[entryID] = found
            }
        }
        return newest.values.sorted { ($0.queuedAt, $0.entryID) < ($1.queuedAt, $1.entryID) }
    }

    /// How many queued files under cache dir `root` still wait for an upload (a failed one,
    /// which has a `.failed` record, does not); read only, for `wxmediafs unmount` once the
    /// daemon has exited.
    public static func pendingQueuedFiles(in root: String) -> Int {
        QueueFolder.allCases.reduce(0) { count, queue in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + queue.rawValue)) ?? []
            let failed = Set(names.filter { $0.hasSuffix(".failed") }.map { String($0.dropLast(".failed".count)) })
            return count + names.filter { $0.split(separator: ".").count == 2 && !failed.contains($0) }.count
        }
    }

    private func syncFolder(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return fsync(descriptor) == 0
    }

    private static func posixError() -> POSIXError {
        POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
}
