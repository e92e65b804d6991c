import HTTPTypes
import Hummingbird
import NIOCore

/// Response body writers that break the HTTP contract on purpose, for the fault kinds that test
/// how clients survive a misbehaving server.
struct CuttingWriter: ResponseBodyWriter {
    var inner: any ResponseBodyWriter
    var remaining: Int
    let channel: any Channel

    struct Cut: Error {}

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard remaining > 0 else { throw Cut() }
        let part = buffer.getSlice(at: buffer.readerIndex, length: min(remaining, buffer.readableBytes)) ?? buffer
        try await inner.write(part)
        remaining -= part.readableBytes
        if remaining <= 0 {
            try await channel.close()
            throw Cut()
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await inner.finish(trailingHeaders)
    }
}

struct TricklingWriter: ResponseBodyWriter {
    var inner: any ResponseBodyWriter
    let interval: Duration

    mutating func write(_ buffer: ByteBuffer) async throws {
        var rest = buffer
        while let byte = rest.readSlice(length: 1) {
            try await inner.write(byte)
            try await Task.sleep(for: interval)
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await inner.finish(trailingHeaders)
    }
}
