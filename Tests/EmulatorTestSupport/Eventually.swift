/// Polls `condition` every `interval` until it holds or `limit` has passed, and says whether it
/// held. It is asked once more at the deadline, so a slow last poll still counts. Tests wait
/// with this, never with a fixed sleep.
public func eventually(
    within limit: Duration = .seconds(20), every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    try await eventuallyValue(within: limit, every: interval) { try await condition() ? true : nil } ?? false
}

/// Polls `value` every `interval` until it gives something or `limit` has passed; its first
/// value, or nil if there was none in time.
public func eventuallyValue<Value>(
    within limit: Duration = .seconds(20), every interval: Duration = .milliseconds(20),
    _ value: () async throws -> Value?
) async rethrows -> Value? {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let found = try await value() { return found }
        // A cancelled test stops polling; only what `value` throws is thrown from here.
        do { try await Task.sleep(for: interval) } catch { break }
    }
    return try await value()
}
