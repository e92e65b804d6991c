/// Why an article folder cannot become a draft (yet), naming the file at fault, so that the
/// filesystem can log one line and answer with an errno before anything is uploaded.
public struct ArticleError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file at fault by its name in the folder; nil when the folder as a whole is at fault.
    public var file: String?
    public var problem: ArticleProblem

    public init(file: String?, problem: ArticleProblem) {
        self.file = file
        self.problem = problem
    }

    /// e.g. `post/1-intro.md: title is 41 characters, at most 32`.
    public var description: String {
        guard let file else { return problem.description }
        return "\(file): \(problem)"
    }
}

/// What is wrong, with the field or picture it concerns.
public enum ArticleProblem: Error, Hashable, Sendable, CustomStringConvertible {
    case notUTF8
    case frontMatterMissing
    case frontMatterUnclosed
    /// `line` counts in the whole file, so the user can go to it.
    case yamlInvalid(line: Int?, detail: String)
    case frontMatterNotMapping
    case unknownKeys([String])
    case fieldMissing(FrontMatterField)
    case fieldEmpty(FrontMatterField)
    /// `found` says what YAML read instead of text: "a number", "a list", ...
    case fieldNotText(FrontMatterField, found: String)
    case fieldTooLong(FrontMatterField, length: Int, limit: Int)
    case fieldInvalid(FrontMatterField, value: String, expected: String)
    case contentEmpty
    case contentTooLong(characters: Int, limit: Int)
    case contentTooLarge(bytes: Int, limit: Int)
    /// A picture the article refers to (as written) that cannot be one of the folder's files.
    case pictureRefused(src: String, why: PictureRefusal)
    /// A `cover` value that cannot be a picture of the folder, of `/material/image/`, or an id.
    case coverRefused(value: String, why: PictureRefusal)
    /// A local picture the caller gave no URL for when rewriting.
    case pictureNotUploaded(path: String)
    case coverMissing
    case tooManyArticles([String], limit: Int)
    case notAPicture
    case pictureTooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .notUTF8: "is not UTF-8 text"
        case .frontMatterMissing:
            "has no front matter: the first line must be '---', then YAML with at least a title, then '---'"
        case .frontMatterUnclosed: "front matter has no closing '---' line"
        case .yamlInvalid(let line, let detail):
            "front matter is not valid YAML" + (line.map { " (line \($0))" } ?? "") + ": \(detail)"
        case .frontMatterNotMapping: "front matter must be 'key: value' lines"
        case .unknownKeys(let keys):
            "unknown front matter key\(keys.count == 1 ? "" : "s") \(keys.map { "'\($0)'" }.joined(separator: ", "))"
                + " (known: \(FrontMatterField.allCases.map(\.rawValue).joined(separator: ", "));"
                + " prefix your own with '\(FrontMatterField.extensionPrefix)')"
        case .fieldMissing(let field): "\(field) is missing"
        case .fieldEmpty(let field): "\(field) is empty"
        case .fieldNotText(let field, let found): "\(field) is \(found), not text: put it in quotes"
        case .fieldTooLong(let field, let length, let limit): "\(field) is \(length) characters, at most \(limit)"
        case .fieldInvalid(let field, let value, let expected): "\(field) '\(value)' is not \(expected)"
        case .contentEmpty: "the article has no content"
        case .contentTooLong(let characters, let limit):
            "content is \(characters) characters after rendering (each picture's URL counted as"
                + " \(ArticleLimits.assumedPictureURLLength)), it must be under \(limit)"
        case .contentTooLarge(let bytes, let limit):
            "content is \(bytes) bytes after rendering, it must be under \(limit)"
        case .pictureRefused(let src, let why): "picture '\(src)' \(why)"
        case .coverRefused(let value, let why): "cover '\(value)' \(why)"
        case .pictureNotUploaded(let path): "picture '\(path)' has no uploaded URL"
        case .coverMissing:
            "cover is missing and the article has no picture of the folder to use: the platform requires a cover"
        case .tooManyArticles(let names, let limit):
            "\(names.count) articles, at most \(limit) make a draft: \(names.joined(separator: ", "))"
        case .notAPicture: "is not a JPEG, PNG, GIF or BMP picture"
        case .pictureTooLarge(let bytes, let limit): "is \(bytes) bytes, over the \(limit)-byte limit for pictures"
        }
    }
}

/// Why a picture reference cannot be a file of the folder.
public enum PictureRefusal: Hashable, Sendable, CustomStringConvertible {
    /// `..` leads out of the folder.
    case outsideFolder
    /// `/x.png`: pictures are the folder's files, named relative to the article.
    case absolutePath
    /// `.` or `./`: the folder itself.
    case notAFile
    /// It names one of the folder's articles.
    case isArticle
    /// It names a dot-file or an editor's temporary, which the folder ignores.
    case isIgnored
    /// A cover that is a web address: a cover must be permanent material.
    case webAddress

    public var description: String {
        switch self {
        case .outsideFolder: "is outside the folder"
        case .absolutePath:
            "is an absolute path: name the folder's pictures relative to it (and a cover may be under /material/image/)"
        case .notAFile: "does not name a file"
        case .isArticle: "is an article, not a picture"
        case .isIgnored: "is a hidden or temporary file, which the folder ignores"
        case .webAddress:
            "is a web address: a cover must be a picture of the folder, under /material/image/, or a media id"
        }
    }
}
