import ArgumentParser

/// A duration written as `90s`, `10m`, `2h` or `3d` (plain numbers are seconds).
struct DurationArgument: ExpressibleByArgument, Sendable {
    let seconds: Int64

    init(seconds: Int64) { self.seconds = seconds }

    var defaultValueDescription: String {
        seconds % 86400 == 0 ? "\(seconds / 86400)d" : "\(seconds)s"
    }

    init?(argument: String) {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var text = argument.lowercased()
        var multiplier: Int64 = 1
        if let last = text.last, let unit = units[last] {
            multiplier = unit
            text.removeLast()
        }
        guard let value = Int64(text), value > 0 else { return nil }
        seconds = value * multiplier
    }
}

/// A size written as `1G`, `500M`, `64K` or a number of bytes (binary units).
struct SizeArgument: ExpressibleByArgument, Sendable {
    let bytes: Int64

    init(bytes: Int64) { self.bytes = bytes }

    var defaultValueDescription: String {
        bytes % (1 << 30) == 0 ? "\(bytes >> 30)G" : "\(bytes)"
    }

    init?(argument: String) {
        let units: [Character: Int64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40]
        var text = argument.lowercased()
        if text.hasSuffix("ib") || text.hasSuffix("b") { text.removeLast(text.hasSuffix("ib") ? 2 : 1) }
        var multiplier: Int64 = 1
        if let last = text.last, let unit = units[last] {
            multiplier = unit
            text.removeLast()
        }
        guard let value = Int64(text), value >= 0 else { return nil }
        bytes = value * multiplier
    }
}
