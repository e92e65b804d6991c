/// Runs `body` with `resource`, then `stop`s it, also when `body` throws: every fixture's
/// `with` (an emulator, a mount, a stand-in server, a proxy) has this one shape. When `body`
/// throws, its error is the one that surfaces; a `stop` that fails is reported only after a
/// `body` that succeeded.
public func using<Resource, Result>(
    _ resource: Resource, stop: (Resource) async throws -> Void, _ body: (Resource) async throws -> Result
) async throws -> Result {
    let result: Result
    do {
        result = try await body(resource)
    } catch {
        try? await stop(resource)
        throw error
    }
    try await stop(resource)
    return result
}
