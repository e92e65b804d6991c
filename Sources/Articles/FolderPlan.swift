import WeChatMedia

/// What an article folder can become now, judged from its listing and its articles' text
/// alone: pictures are only named, never read, so this can run on every change to the folder.
public enum FolderPlan: Hashable, Sendable {
    /// Not whole yet: these names are referred to and not in the folder (sorted), or, when the
    /// list is empty, the folder has no article yet.
    case waiting(for: [String])
    /// It cannot become a draft until a file is changed.
    case invalid(ArticleError)
    /// It can become a draft.
    case ready(DraftPlan)

    /// Plans the folder whose files are `listing` (paths relative to it), reading each article
    /// (never a picture) with `read`, whose own errors are passed on.
    public static func make<Failure: Error>(
        listing: [String], read: (String) throws(Failure) -> [UInt8]
    ) throws(Failure) -> FolderPlan {
        var entries: [String: FolderEntry] = [:]
        for name in listing { entries[name] = FolderEntry.classify(name) }
        let articleNames = listing.filter { if case .article = entries[$0] { true } else { false } }.sorted(
            by: nameOrder)
        guard !articleNames.isEmpty else { return .waiting(for: []) }
        guard articleNames.count <= DraftLimits.articles else {
            return .invalid(
                ArticleError(file: nil, problem: .tooManyArticles(articleNames, limit: DraftLimits.articles)))
        }
        var articles: [Article] = []
        for name in articleNames {
            guard case .article(let format) = entries[name] else { continue }
            let bytes = try read(name)
            do throws(ArticleError) {
                articles.append(try Article.parse(name: name, format: format, bytes: bytes))
            } catch {
                return .invalid(error)
            }
        }
        var missing: Set<String> = []
        for article in articles {
            for (path, refusal) in article.folderFiles {
                switch entries[path] {
                case .asset: continue
                case nil: missing.insert(path)
                case .article:
                    return .invalid(ArticleError(file: article.name, problem: refusal(.isArticle)))
                case .ignored:
                    return .invalid(ArticleError(file: article.name, problem: refusal(.isIgnored)))
                }
            }
        }
        guard missing.isEmpty else { return .waiting(for: missing.sorted(by: nameOrder)) }
        let used = Set(articles.flatMap { $0.folderFiles.map(\.path) })
        let unused = listing.filter { entries[$0] == .asset && !used.contains($0) }.sorted(by: nameOrder)
        return .ready(DraftPlan(articles: articles, unusedAssets: unused))
    }

    /// Byte order of UTF-8, as `LC_ALL=C ls` lists: the same on every machine and locale, and
    /// `1-...` to `8-...` sort as numbered.
    static func nameOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

extension Article {
    /// The folder's files this article needs: its pictures, then its cover when that is a file
    /// of the folder; each with how to say what is wrong with it.
    fileprivate var folderFiles: [(path: String, refusal: (PictureRefusal) -> ArticleProblem)] {
        var files: [(String, (PictureRefusal) -> ArticleProblem)] = pictures.map { path in
            (path, { .pictureRefused(src: path, why: $0) })
        }
        if case .folderFile(let path) = cover, !pictures.contains(path) {
            files.append((path, { .coverRefused(value: path, why: $0) }))
        }
        return files
    }
}
