/// When a file written into an upload folder goes to the server.
public enum UploadMode: String, Sendable, CaseIterable, Codable {
    /// In `close()`: it returns once the server has the file, or fails with the upload's errno.
    case sync
    /// After `close()`, which returns once the file passed the local rules and is queued on
    /// disk; `wxmediafs sync`, `fsync` and the sidecar wait for the upload and tell its errno.
    case background
}
