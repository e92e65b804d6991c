/// The folder's pictures an article's HTML shows (`<img src>`, which is also what a Markdown
/// image renders to), and the swapping of their `src` for the URLs they get once uploaded.
public enum PictureReferences {
    /// Each local picture's path (relative to the folder) once, in order of first use. Remote
    /// and empty sources are left out; a source that cannot be of the folder throws.
    public static func find(in html: String) throws(ArticleProblem) -> [String] {
        var paths: [String] = []
        _ = try mapLocalSources(html) { path in
            if !paths.contains(path) { paths.append(path) }
            return nil
        }
        return paths
    }

    /// `html` with the `src` of each local picture replaced by `urls[path]`, everything else as
    /// written. Throws for a local picture `urls` has no URL for: publishing a path would
    /// publish a broken picture.
    public static func rewrite(_ html: String, urls: [String: String]) throws(ArticleProblem) -> String {
        try mapLocalSources(html) { path throws(ArticleProblem) in
            guard let url = urls[path] else { throw .pictureNotUploaded(path: path) }
            return url
        }
    }

    /// Visits each `<img>`'s local `src` in order; `replacement` answers its new value, or nil
    /// to keep it. Gives back the HTML with the replacements made.
    static func mapLocalSources(
        _ html: String, replacement: (String) throws(ArticleProblem) -> String?
    ) throws(ArticleProblem) -> String {
        var output = ""
        for token in HTMLLexer.tokens(html) {
            guard case .startTag(var tag) = token, tag.name == "img",
                let index = tag.attributes.firstIndex(where: { $0.name == "src" }),
                let src = tag.attributes[index].decodedValue,
                case .local(let path) = try PictureSource.resolve(src)
            else {
                output += token.html
                continue
            }
            if let url = try replacement(path) {
                tag.attributes[index] = tag.attributes[index].replacingValue(with: url)
            }
            output += tag.html
        }
        return output
    }
}
