import Foundation
import LocalByteStore

/// Why a queued upload failed, kept on disk beside its file (`ContentCache.recordFailure`) so a
/// remount still tells it. Its own type, versioned, not the status display's: renaming a field
/// of `MountStatus.Failure` must not break resuming an older queue. Version 1 (before this type)
/// was `{"failure": MountStatus.Failure with dates as seconds since 2001, "errno": Int32}`.
struct QueuedUploadFailure: Codable, Sendable, Equatable {
    static let currentVersion = 2

    var version = Self.currentVersion
    var at: Date
    var operation: String
    var name: String
    /// The errno the upload failed with, and its symbolic name.
    var errno: Int32
    var errnoName: String
    var errcode: Int?
    var errmsg: String
    /// Whether the queue tries it again by itself (the next mount too). Optional, so that the
    /// version stays: a record without it (written before it was) is a failure that stays, and
    /// an older binary reading one with it ignores it.
    var mayPass: Bool?

    init(_ failure: MountStatus.Failure, errno: Int32, mayPass: Bool = false) {
        at = failure.at
        operation = failure.operation
        name = failure.name
        self.errno = errno
        errnoName = failure.errno
        errcode = failure.errcode
        errmsg = failure.errmsg
        self.mayPass = mayPass ? true : nil
    }

    /// As `status` shows it.
    var display: MountStatus.Failure {
        MountStatus.Failure(
            at: at, operation: operation, name: name, errno: errnoName, errcode: errcode, errmsg: errmsg)
    }

    func encoded() throws -> [UInt8] { try WireFormat.encode(self) }

    /// Reads a record of any version written so far; nil for what is none of them.
    static func decode(_ bytes: [UInt8]) -> QueuedUploadFailure? {
        if let current = try? WireFormat.decode(QueuedUploadFailure.self, from: bytes) {
            return current.version == currentVersion ? current : nil
        }
        // Version 1 used Foundation's default date encoding: a decoder of its own reads it.
        guard let old = try? JSONDecoder().decode(Version1.self, from: Data(bytes)) else { return nil }
        return QueuedUploadFailure(
            MountStatus.Failure(
                at: old.failure.at, operation: old.failure.operation, name: old.failure.name,
                errno: old.failure.errno, errcode: old.failure.errcode, errmsg: old.failure.errmsg),
            errno: old.errno)
    }

    /// The shape version 1 wrote, frozen here whatever `MountStatus.Failure` becomes.
    private struct Version1: Decodable {
        struct Failure: Decodable {
            var at: Date
            var operation: String
            var name: String
            var errno: String
            var errcode: Int?
            var errmsg: String
        }

        var failure: Failure
        var errno: Int32
    }
}
