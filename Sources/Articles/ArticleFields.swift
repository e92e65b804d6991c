import Foundation
import WeChatMedia
import Yams

/// What an article's front matter says, checked against the platform's limits.
public struct ArticleFields: Hashable, Sendable {
    public var title: String
    public var author: String?
    public var digest: String?
    /// Nil when the front matter names none (the article's first picture is then taken).
    public var cover: CoverReference?
    /// `content_source_url`, the "read the original" link.
    public var sourceURL: String?
    public var comments: CommentPolicy

    public init(
        title: String, author: String? = nil, digest: String? = nil, cover: CoverReference? = nil,
        sourceURL: String? = nil, comments: CommentPolicy = .default
    ) {
        self.title = title
        self.author = author
        self.digest = digest
        self.cover = cover
        self.sourceURL = sourceURL
        self.comments = comments
    }

    /// Parses the YAML between the `---` lines.
    public static func parse(frontMatter yaml: String) throws(ArticleProblem) -> ArticleFields {
        let values = try FrontMatterValues(yaml: yaml)
        guard let title = try values.text(.title) else {
            throw values.isPresent(.title) ? .fieldEmpty(.title) : .fieldMissing(.title)
        }
        let fields = ArticleFields(
            title: title,
            author: try values.text(.author),
            digest: try values.text(.digest),
            cover: try values.text(.cover).map { value throws(ArticleProblem) in try CoverReference.classify(value) },
            sourceURL: try values.text(.sourceURL),
            comments: try values.comments()
        )
        try fields.check()
        return fields
    }

    /// The platform's limits and forms, so a refusal comes before any upload.
    func check() throws(ArticleProblem) {
        let limits: [(FrontMatterField, String?, Int)] = [
            (.title, title, DraftLimits.title),
            (.author, author, DraftLimits.author),
            (.digest, digest, DraftLimits.digest),
            (.sourceURL, sourceURL, DraftLimits.sourceURL),
        ]
        for case (let field, let value?, let limit) in limits {
            let length = DraftLimits.characters(in: value)
            if length > limit { throw .fieldTooLong(field, length: length, limit: limit) }
        }
        if let sourceURL {
            let url = URL(string: sourceURL)
            guard let scheme = url?.scheme?.lowercased(), scheme == "http" || scheme == "https",
                url?.host?.isEmpty == false
            else {
                throw .fieldInvalid(.sourceURL, value: sourceURL, expected: "an http:// or https:// address")
            }
        }
    }
}

/// The front matter's mapping, read key by key with the reasons a user needs.
private struct FrontMatterValues {
    private var nodes: [FrontMatterField: Node] = [:]

    init(yaml: String) throws(ArticleProblem) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw Self.problem(error)
        } catch {
            throw .yamlInvalid(line: nil, detail: "\(error)")
        }
        // An empty front matter is a mapping without keys: the title is what is missing.
        guard let root else { return }
        guard let mapping = root.mapping else { throw .frontMatterNotMapping }
        var unknown: [String] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw .frontMatterNotMapping }
            if let field = FrontMatterField(rawValue: name) {
                nodes[field] = value
            } else if !name.hasPrefix(FrontMatterField.extensionPrefix) {
                unknown.append(name)
            }
        }
        if !unknown.isEmpty { throw .unknownKeys(unknown) }
    }

    func isPresent(_ field: FrontMatterField) -> Bool { nodes[field] != nil }

    /// The field's text, trimmed; nil when absent or left empty. Only YAML strings are text:
    /// a plain `title: 2024` or `title: yes` reads as a number or a boolean, and YAML would
    /// publish `1.10` as `1.1`; quoting says what is meant.
    func text(_ field: FrontMatterField) throws(ArticleProblem) -> String? {
        guard let node = nodes[field] else { return nil }
        guard let scalar = node.scalar else {
            throw .fieldNotText(field, found: node.sequence != nil ? "a list" : "a mapping")
        }
        switch Tag.Name(rawValue: node.tag.rawValue) {
        case .str:
            let text = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        case .null: return nil
        case .int, .float: throw .fieldNotText(field, found: "a number")
        case .bool: throw .fieldNotText(field, found: "true or false")
        case .timestamp: throw .fieldNotText(field, found: "a date")
        default: throw .fieldNotText(field, found: "of type \(node.tag.rawValue)")
        }
    }

    /// `comments` is a word from a fixed list; taken as written, so YAML 1.1's reading of
    /// words such as `off` as booleans cannot get in the way.
    func comments() throws(ArticleProblem) -> CommentPolicy {
        guard let node = nodes[.comments] else { return .default }
        let word = node.scalar?.string.trimmingCharacters(in: .whitespaces) ?? "\(node)"
        guard let policy = CommentPolicy(rawValue: word.lowercased()) else {
            let expected = "one of " + CommentPolicy.allCases.map(\.rawValue).joined(separator: ", ")
            throw .fieldInvalid(.comments, value: word, expected: expected)
        }
        return policy
    }

    /// libyaml's problem and line, the line counted in the whole file.
    private static func problem(_ error: YamlError) -> ArticleProblem {
        let offset = ArticleText.frontMatterFirstLine - 1
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return .yamlInvalid(line: mark.line + offset, detail: problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .yamlInvalid(
                line: context.mark.line + offset,
                detail: "key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) given twice")
        default:
            return .yamlInvalid(line: nil, detail: "\(error)")
        }
    }
}
