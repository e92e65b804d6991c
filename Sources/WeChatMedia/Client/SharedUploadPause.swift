/// Where a fleet of hosts keeps the pause of its uploads after the server answered 45009 (the
/// account's daily quota is spent): one host meets it, every host stops sending uploads until
/// the pause ends, instead of each spending requests to learn the same thing. `PostgresUploadPause`
/// (module MediaCatalog) keeps it in PostgreSQL.
///
/// Times cross it as durations measured by the store's own clock, so hosts whose clocks disagree
/// still end the pause together.
public protocol SharedUploadPause: Sendable {
    /// How much of the pause is left; nil when uploads are not paused.
    func remainingPause() async throws -> Duration?
    /// Pauses uploads for `duration` from now. A pause that already lasts longer is kept.
    func pauseUploads(for duration: Duration) async throws
}
