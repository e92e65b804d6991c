/// The app secret. Holds the value for the one place that sends it and prints as `***` everywhere
/// else, so it cannot slip into a log line or an error message by interpolation.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "***" }
    public var debugDescription: String { "***" }
}
