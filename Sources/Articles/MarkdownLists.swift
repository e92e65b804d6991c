import Ink

/// Lists rendered from their Markdown by indentation, in place of Ink 0.6's, which puts an item
/// that follows a nested list inside that nested list whenever both use the same marker
/// (`- a` / `  - a1` / `- b` gives `b` as a child of `a`), and inside the previous item's text
/// when an unordered list is nested in an ordered one. Ink still finds where a list starts and
/// ends, and still renders each item's text.
enum MarkdownLists {
    /// The modifier that re-renders every top-level list Ink finds (Ink renders nested lists
    /// itself, without modifiers, so this sees each list's whole Markdown exactly once).
    static var modifier: Modifier {
        Modifier(target: .lists) { input in html(markdown: input.markdown) ?? input.html }
    }

    struct Item {
        var indentation: Int
        /// nil for an unordered item.
        var number: Int?
        var text: String
        var children: [List] = []
    }

    struct List {
        var items: [Item]
        var ordered: Bool { items.first?.number != nil }
    }

    /// The lists in `markdown`, or nil when its first line is not a list item (then Ink's
    /// rendering stands).
    static func html(markdown: Substring) -> String? {
        var items: [Item] = []
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: true) {
            if let item = item(line) {
                items.append(item)
            } else if !items.isEmpty {
                let text = line.drop { $0 == " " || $0 == "\t" }
                if !text.isEmpty { items[items.count - 1].text += " " + text }
            } else {
                return nil
            }
        }
        var index = items.startIndex
        var html = ""
        while index < items.endIndex {
            html += render(list(from: items, at: &index, indentation: items[index].indentation))
        }
        return html
    }

    /// `- text`, `* text`, `+ text`, `12. text` or `12) text`, with its indentation (a tab as 4).
    private static func item(_ line: Substring) -> Item? {
        let indentation = line.prefix { $0 == " " || $0 == "\t" }
        let width = indentation.reduce(0) { $0 + ($1 == "\t" ? 4 : 1) }
        let rest = line.dropFirst(indentation.count)
        func text(after marker: Int) -> String? {
            let afterMarker = rest.dropFirst(marker)
            guard let blank = afterMarker.first, blank == " " || blank == "\t" else { return nil }
            return String(afterMarker.drop { $0 == " " || $0 == "\t" })
        }
        if let first = rest.first, "-*+".contains(first), let text = text(after: 1) {
            return Item(indentation: width, number: nil, text: text)
        }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard (1...9).contains(digits.count), let marker = rest.dropFirst(digits.count).first,
            marker == "." || marker == ")",
            let number = Int(digits), let text = text(after: digits.count + 1)
        else { return nil }
        return Item(indentation: width, number: number, text: text)
    }

    /// The list of items at `indentation` from `index` on; deeper items become the children of
    /// the item before them. Ends at a shallower item, or where the kind changes (as Markdown
    /// starts a new list there).
    private static func list(from items: [Item], at index: inout Int, indentation: Int) -> List {
        var list = List(items: [])
        while index < items.endIndex {
            let item = items[index]
            if item.indentation > indentation, !list.items.isEmpty {
                let child = self.list(from: items, at: &index, indentation: item.indentation)
                list.items[list.items.count - 1].children.append(child)
                continue
            }
            if item.indentation < indentation || (!list.items.isEmpty && (item.number != nil) != list.ordered) {
                break
            }
            list.items.append(item)
            index += 1
        }
        return list
    }

    private static func render(_ list: List) -> String {
        let tag = list.ordered ? "ol" : "ul"
        let start = list.items.first?.number.flatMap { $0 == 1 ? nil : " start=\"\($0)\"" } ?? ""
        let items = list.items.map { item in
            "<li>" + inline(item.text) + item.children.map(render).joined() + "</li>"
        }
        return "<\(tag)\(start)>" + items.joined() + "</\(tag)>"
    }

    /// An item's text through Ink, without the paragraph Ink wraps it in.
    private static func inline(_ text: String) -> String {
        let html = MarkdownParser().html(from: text)
        guard html.hasPrefix("<p>"), html.hasSuffix("</p>") else { return html }
        return String(html.dropFirst(3).dropLast(4))
    }
}
