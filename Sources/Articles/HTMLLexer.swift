/// Cuts HTML into tokens the way a browser's tokenizer does, as far as stripping and picture
/// references need: tags with their attributes (quoted values may hold `>`), comments, and the
/// raw text of `<script>` and `<style>`. Not a parser: nesting is the platform's business.
/// Works on UTF-8 bytes, where every byte of HTML's syntax is ASCII and never part of another
/// character.
enum HTMLLexer {
    /// Elements whose content is raw text up to their end tag.
    static let rawTextElements: Set<String> = ["script", "style"]

    static func tokens(_ html: String) -> [HTMLToken] {
        var reader = Reader(bytes: Array(html.utf8))
        return reader.readAll()
    }

    private struct Reader {
        let bytes: [UInt8]
        var tokens: [HTMLToken] = []
        var textStart = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func readAll() -> [HTMLToken] {
            var index = 0
            while index < bytes.count {
                guard bytes[index] == UInt8(ascii: "<"), let (token, end) = markup(at: index) else {
                    index += 1
                    continue
                }
                flushText(upTo: index)
                tokens.append(token)
                index = end
                if case .startTag(let tag) = token, HTMLLexer.rawTextElements.contains(tag.name) {
                    let close = closingTag(tag.name, from: index) ?? bytes.count
                    if close > index { tokens.append(.rawText(string(index..<close))) }
                    index = close
                }
                textStart = index
            }
            flushText(upTo: bytes.count)
            return tokens
        }

        private mutating func flushText(upTo end: Int) {
            if end > textStart { tokens.append(.text(string(textStart..<end))) }
        }

        private func string(_ range: Range<Int>) -> String {
            String(decoding: bytes[range], as: UTF8.self)
        }

        private func byte(_ index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }

        private static func isBlank(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D
        }

        private static func isLetter(_ byte: UInt8?) -> Bool {
            guard let byte else { return false }
            return (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }

        /// The token that starts with the `<` at `start`, and where it ends; nil when the `<` is
        /// text (`a < b`).
        private func markup(at start: Int) -> (HTMLToken, Int)? {
            let next = byte(start + 1)
            if next == UInt8(ascii: "!"), byte(start + 2) == UInt8(ascii: "-"), byte(start + 3) == UInt8(ascii: "-") {
                // A comment runs to `-->`, or to the end, as in a browser.
                let end = find(Array("-->".utf8), from: start + 4).map { $0 + 3 } ?? bytes.count
                return (.comment(string(start..<end)), end)
            }
            if next == UInt8(ascii: "!") || next == UInt8(ascii: "?") {
                let end = find([UInt8(ascii: ">")], from: start + 2).map { $0 + 1 } ?? bytes.count
                return (.markup(string(start..<end)), end)
            }
            if next == UInt8(ascii: "/"), Self.isLetter(byte(start + 2)) {
                let nameEnd = nameEnd(from: start + 2)
                guard let close = find([UInt8(ascii: ">")], from: nameEnd) else { return unterminated(start) }
                return (
                    .endTag(name: string(start + 2..<nameEnd).lowercased(), html: string(start..<close + 1)), close + 1
                )
            }
            guard Self.isLetter(next) else { return nil }
            return startTag(at: start) ?? unterminated(start)
        }

        /// A tag cut off by the end of the text is shown as text, never left for a browser or
        /// the platform to guess at.
        private func unterminated(_ start: Int) -> (HTMLToken, Int) {
            (.text("&lt;" + string(start + 1..<bytes.count)), bytes.count)
        }

        private func nameEnd(from index: Int) -> Int {
            var end = index
            while let byte = byte(end), !Self.isBlank(byte), byte != UInt8(ascii: "/"), byte != UInt8(ascii: ">") {
                end += 1
            }
            return end
        }

        private func startTag(at start: Int) -> (HTMLToken, Int)? {
            let nameEnd = nameEnd(from: start + 1)
            var attributes: [HTMLAttribute] = []
            var pieceStart = nameEnd
            var index = nameEnd
            while true {
                while let byte = byte(index), Self.isBlank(byte) || byte == UInt8(ascii: "/") {
                    if byte == UInt8(ascii: "/"), self.byte(index + 1) == UInt8(ascii: ">") { break }
                    index += 1
                }
                guard let byte = byte(index) else { return nil }
                if byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") {
                    let end = byte == UInt8(ascii: ">") ? index + 1 : index + 2
                    let tag = HTMLTag(
                        name: string(start + 1..<nameEnd).lowercased(), writtenName: string(start + 1..<nameEnd),
                        attributes: attributes, tail: string(pieceStart..<end - 1))
                    return (.startTag(tag), end)
                }
                guard let (attribute, end) = attribute(from: index, blanksFrom: pieceStart) else { return nil }
                attributes.append(attribute)
                index = end
                pieceStart = end
            }
        }

        /// The attribute whose name starts at `start`; `blanksFrom` is where its leading blanks begin.
        private func attribute(from start: Int, blanksFrom: Int) -> (HTMLAttribute, Int)? {
            var index = start + 1
            while let byte = byte(index), !Self.isBlank(byte), byte != UInt8(ascii: "/"), byte != UInt8(ascii: ">"),
                byte != UInt8(ascii: "=")
            {
                index += 1
            }
            let name = string(start..<index).lowercased()
            var afterBlanks = index
            while let byte = byte(afterBlanks), Self.isBlank(byte) { afterBlanks += 1 }
            guard byte(afterBlanks) == UInt8(ascii: "=") else {
                return (HTMLAttribute(name: name, value: nil, html: string(blanksFrom..<index)), index)
            }
            var valueStart = afterBlanks + 1
            while let byte = byte(valueStart), Self.isBlank(byte) { valueStart += 1 }
            guard let first = byte(valueStart) else { return nil }
            let value: Range<Int>
            let end: Int
            if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
                guard let close = find([first], from: valueStart + 1) else { return nil }
                value = valueStart + 1..<close
                end = close + 1
            } else {
                var close = valueStart
                while let byte = byte(close), !Self.isBlank(byte), byte != UInt8(ascii: ">") { close += 1 }
                value = valueStart..<close
                end = close
            }
            return (HTMLAttribute(name: name, value: string(value), html: string(blanksFrom..<end)), end)
        }

        /// Where `</name` (any case) begins, followed by a blank, `/`, `>` or the end.
        private func closingTag(_ name: String, from start: Int) -> Int? {
            let pattern = Array("</\(name)".utf8)
            var index = start
            while let found = find(pattern, from: index, ignoringCase: true) {
                guard let after = byte(found + pattern.count) else { return found }
                if Self.isBlank(after) || after == UInt8(ascii: "/") || after == UInt8(ascii: ">") { return found }
                index = found + 1
            }
            return nil
        }

        private func find(_ pattern: [UInt8], from start: Int, ignoringCase: Bool = false) -> Int? {
            guard start <= bytes.count - pattern.count else { return nil }
            func lower(_ byte: UInt8) -> UInt8 { ignoringCase && (0x41...0x5A).contains(byte) ? byte + 0x20 : byte }
            for index in start...(bytes.count - pattern.count)
            where pattern.indices.allSatisfy({ lower(bytes[index + $0]) == pattern[$0] }) {
                return index
            }
            return nil
        }
    }
}
