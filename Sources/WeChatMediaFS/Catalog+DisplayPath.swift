import MediaCatalog

extension Catalog {
    /// `image/holiday/cat.jpg`, for log lines and `status`. A broken chain of folders (a corrupt
    /// or foreign catalog) ends the walk instead of looping.
    func displayPath(of entry: CatalogEntry) async -> String {
        var parts = [entry.name]
        var folder = entry.folder
        for _ in 0..<64 {
            if folder.isTopLevel { break }
            guard let parent = try? await self.entry(id: folder.parentID) else { break }
            parts.append(parent.name)
            folder = parent.folder
        }
        return ([entry.type.rawValue] + parts.reversed()).joined(separator: "/")
    }
}
