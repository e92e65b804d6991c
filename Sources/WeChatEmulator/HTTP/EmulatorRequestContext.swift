import Hummingbird
import NIOCore

/// The request context of the emulator: Hummingbird's basics plus the connection, which the
/// dropped-connection fault and the refusal of oversized bodies close without an answer.
struct EmulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Uploads are streamed to disk by the handler, never collated, so no collation cap applies.
    var maxUploadSize: Int { 64 * 1024 }
}
