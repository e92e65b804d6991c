import ArgumentParser

/// A duration written as `90s`, `10m`, `2h` or `3d` (plain numbers are seconds).
struct DurationArgument: ExpressibleByArgument, Sendable {
    /// Saturated at `Int64.max` when the written value does not fit, so that `check` refuses it
    /// by its range (naming the option) instead of the multiplication trapping.
    let seconds: Int64
    /// As the user wrote it, for error messages.
    let text: String

    init(seconds: Int64) {
        self.seconds = seconds
        self.text = Self.format(seconds: seconds)
    }

    var defaultValueDescription: String { Self.format(seconds: seconds) }

    init?(argument: String) {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = argument.lowercased()
        var multiplier: Int64 = 1
        if let last = digits.last, let unit = units[last] {
            multiplier = unit
            digits.removeLast()
        }
        guard let number = WholeNumber(digits) else { return nil }
        seconds = number.times(multiplier)
        text = argument
    }

    /// Throws a usage error naming `option` unless the value is within `range`.
    func check(within range: ClosedRange<Int64>, option: String) throws {
        guard range.contains(seconds) else {
            throw ValidationError(
                "\(option) \(text) is out of range: give \(Self.format(seconds: range.lowerBound)) to "
                    + "\(Self.format(seconds: range.upperBound))")
        }
    }

    /// `3d`, `2h`, `10m` or `90s`: the largest unit that divides it.
    static func format(seconds: Int64) -> String {
        for (unit, length) in [("d", Int64(86400)), ("h", 3600), ("m", 60)] where seconds != 0 && seconds % length == 0
        {
            return "\(seconds / length)\(unit)"
        }
        return "\(seconds)s"
    }
}

/// A size written as `1G`, `500M`, `64K` or a number of bytes (binary units, up to `P`).
struct SizeArgument: ExpressibleByArgument, Sendable {
    /// Saturated at `Int64.max` when the written value does not fit; see `DurationArgument.seconds`.
    let bytes: Int64
    /// As the user wrote it, for error messages.
    let text: String

    init(bytes: Int64) {
        self.bytes = bytes
        self.text = Self.format(bytes: bytes)
    }

    var defaultValueDescription: String {
        bytes % (1 << 30) == 0 ? "\(bytes >> 30)G" : "\(bytes)"
    }

    init?(argument: String) {
        var digits = argument.lowercased()
        if digits.hasSuffix("ib") || digits.hasSuffix("b") { digits.removeLast(digits.hasSuffix("ib") ? 2 : 1) }
        var multiplier: Int64 = 1
        if let last = digits.last, let unit = Self.units.first(where: { $0.suffix == last }) {
            multiplier = unit.bytes
            digits.removeLast()
        }
        guard let number = WholeNumber(digits) else { return nil }
        bytes = number.times(multiplier)
        text = argument
    }

    private static let units: [(suffix: Character, bytes: Int64)] = [
        ("p", 1 << 50), ("t", 1 << 40), ("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10),
    ]

    /// Throws a usage error naming `option` unless the value is within `range`.
    func check(within range: ClosedRange<Int64>, option: String) throws {
        guard range.contains(bytes) else {
            throw ValidationError(
                "\(option) \(text) is out of range: give \(Self.format(bytes: range.lowerBound)) to "
                    + "\(Self.format(bytes: range.upperBound))")
        }
    }

    /// `1P`, `1G`, `4K` or a byte count: the largest unit that divides it.
    static func format(bytes: Int64) -> String {
        for unit in units where bytes != 0 && bytes % unit.bytes == 0 {
            return "\(bytes / unit.bytes)\(String(unit.suffix).uppercased())"
        }
        return "\(bytes)"
    }
}

/// The number part of a duration or size: decimal digits only (no sign, no spaces), of any length.
private struct WholeNumber {
    /// nil when the digits do not fit in `Int64`: `times` then saturates, and the range check refuses it.
    let value: Int64?

    init?(_ digits: String) {
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        value = Int64(digits)
    }

    /// The number times `multiplier`, or `Int64.max` when that overflows.
    func times(_ multiplier: Int64) -> Int64 {
        guard let value else { return .max }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? .max : product
    }
}

/// The free space to keep on the cache dir's disk: a size (`100M`) or a share of the disk (`5%`).
struct FreeSpaceFloorArgument: ExpressibleByArgument, Sendable {
    enum Floor: Sendable, Equatable {
        case bytes(Int64)
        case percent(Int64)
    }

    let floor: Floor
    let text: String

    init(percent: Int64) {
        floor = .percent(percent)
        text = "\(percent)%"
    }

    var defaultValueDescription: String { text }

    init?(argument: String) {
        if argument.hasSuffix("%") {
            guard let number = WholeNumber(String(argument.dropLast())) else { return nil }
            floor = .percent(number.times(1))
        } else {
            guard let size = SizeArgument(argument: argument) else { return nil }
            floor = .bytes(size.bytes)
        }
        text = argument
    }

    /// A usage error naming `option` for a share over 50% or a size past 1P.
    func check(option: String) throws {
        switch floor {
        case .percent(let share) where !(0...50).contains(share):
            throw ValidationError("\(option) \(text) is out of range: give 0% to 50%, or a size")
        case .bytes(let bytes) where !(0...(1 << 50)).contains(bytes):
            throw ValidationError("\(option) \(text) is out of range: give 0 to 1P, or a share like 5%")
        default:
            break
        }
    }

    /// The floor in bytes on a disk of `diskBytes`. A share is capped at 256 MiB, so a big disk
    /// keeps what a small one could not.
    func bytes(onDiskOf diskBytes: Int64) -> Int64 {
        switch floor {
        case .bytes(let bytes): bytes
        case .percent(let share): min(256 << 20, diskBytes / 100 * share)
        }
    }
}
