import Foundation

/// The draft box, publish jobs and published messages, kept under `DATA/drafts/`,
/// `DATA/published/` (one `ID.json` each) and `DATA/publish-jobs.json`, so they survive a
/// restart as material does. Jobs end lazily: whoever looks at the box after a job's time has
/// come sees it ended, as if the platform had finished it then.
actor DraftStore {
    enum Submitted {
        case submitted(PublishJob)
        case unknownDraft
        /// The draft is being published already (53503).
        case busy
    }

    enum Deleted {
        case deleted
        case unknown
        case badIndex
    }

    private let draftDirectory: String
    private let publishedDirectory: String
    private let jobsPath: String
    private let clock: EmulatorClock
    private var drafts: [String: StoredDraft] = [:]
    private var published: [String: PublishedMessage] = [:]
    private var jobs: [Int64: PublishJob] = [:]
    private var nextSequence: Int64 = 0
    /// How long a submitted job stays publishing.
    private var publishSeconds: Int64
    /// What `publishSeconds` is after a reset: the command line's.
    private let configuredPublishSeconds: Int64
    /// What the next submitted job will end as, when a test chose (then it is used once).
    private var nextOutcome: PublishOutcome?

    init(dataDirectory: String, clock: EmulatorClock, publishSeconds: Int64) throws {
        draftDirectory = dataDirectory + "/drafts"
        publishedDirectory = dataDirectory + "/published"
        jobsPath = dataDirectory + "/publish-jobs.json"
        self.clock = clock
        self.publishSeconds = publishSeconds
        self.configuredPublishSeconds = publishSeconds
        for folder in [draftDirectory, publishedDirectory] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        drafts = try StoredRecords.load(StoredDraft.self, in: draftDirectory, requiringBytes: false, id: \.id)
        published = try StoredRecords.load(
            PublishedMessage.self, in: publishedDirectory, requiringBytes: false, id: \.id)
        if let data = FileManager.default.contents(atPath: jobsPath),
            let saved = try? JSONDecoder().decode([PublishJob].self, from: data)
        {
            jobs = Dictionary(saved.map { ($0.publishID, $0) }, uniquingKeysWith: { $1 })
        }
        nextSequence = (drafts.values.map(\.sequence) + published.values.map(\.sequence)).max().map { $0 + 1 } ?? 0
    }

    // MARK: Drafts

    func add(_ articles: [StoredArticle]) throws -> StoredDraft {
        let draft = StoredDraft(
            id: RandomIDs.mediaID(), articles: articles, updateTime: clock.now, sequence: takeSequence())
        try save(draft)
        return draft
    }

    func draft(_ id: String) throws -> StoredDraft? {
        try settle()
        return drafts[id]
    }

    /// Replaces the article at `index` (0-based); nil when there is no such draft, false when
    /// the index is out of range.
    func update(_ id: String, index: Int, with article: StoredArticle) throws -> Bool? {
        try settle()
        guard var draft = drafts[id] else { return nil }
        guard draft.articles.indices.contains(index) else { return false }
        draft.articles[index] = article
        draft.updateTime = clock.now
        try save(draft)
        return true
    }

    func delete(_ id: String) throws -> Bool {
        try settle()
        guard drafts.removeValue(forKey: id) != nil else { return false }
        unlink(draftDirectory + "/" + id + ".json")
        return true
    }

    func draftCount() throws -> Int {
        try settle()
        return drafts.count
    }

    /// One page of the box, newest first, and how many drafts there are in all.
    func draftPage(offset: Int, count: Int) throws -> (total: Int, items: [StoredDraft]) {
        try settle()
        return Self.page(drafts.values.sorted { $0.sequence > $1.sequence }, offset: offset, count: count)
    }

    // MARK: Publishing

    func submit(_ draftID: String) throws -> Submitted {
        try settle()
        guard let draft = drafts[draftID] else { return .unknownDraft }
        guard !jobs.values.contains(where: { $0.draftID == draftID && $0.status == 1 }) else { return .busy }
        let publishID = (jobs.keys.max() ?? 2_247_483_647) + 1
        let job = PublishJob(
            publishID: publishID, msgDataID: publishID + 1, draftID: draftID, readyAt: clock.now + publishSeconds,
            outcome: nextOutcome ?? .published, status: 1, articleID: nil, articleCount: draft.articles.count)
        nextOutcome = nil
        jobs[publishID] = job
        try saveJobs()
        return .submitted(job)
    }

    func job(_ publishID: Int64) throws -> PublishJob? {
        try settle()
        return jobs[publishID]
    }

    func message(_ articleID: String) throws -> PublishedMessage? {
        try settle()
        return published[articleID]
    }

    /// One page of published messages, newest first.
    func publishedPage(offset: Int, count: Int) throws -> (total: Int, items: [PublishedMessage]) {
        try settle()
        return Self.page(published.values.sorted { $0.sequence > $1.sequence }, offset: offset, count: count)
    }

    /// Deletes article `index` (from 1) of a published message, or all of it for 0; a message
    /// with every article deleted is gone, and its job reports 5.
    func deletePublished(_ articleID: String, index: Int) throws -> Deleted {
        try settle()
        guard var message = published[articleID] else { return .unknown }
        guard (0...message.articles.count).contains(index) else { return .badIndex }
        if index == 0 {
            message.deleted = message.deleted.map { _ in true }
        } else {
            message.deleted[index - 1] = true
        }
        if message.deleted.allSatisfy({ $0 }) {
            published.removeValue(forKey: articleID)
            unlink(publishedDirectory + "/" + articleID + ".json")
            if var job = jobs[message.publishID] {
                job.status = 5
                jobs[message.publishID] = job
                try saveJobs()
            }
        } else {
            try save(message)
        }
        return .deleted
    }

    func setPublishSeconds(_ seconds: Int64) { publishSeconds = seconds }

    func setNextOutcome(_ outcome: PublishOutcome) { nextOutcome = outcome }

    /// An article's page: of a draft or a published message, by id and 1-based index.
    func article(_ id: String, index: Int) throws -> StoredArticle? {
        try settle()
        if let draft = drafts[id], draft.articles.indices.contains(index - 1) { return draft.articles[index - 1] }
        guard let message = published[id], message.articles.indices.contains(index - 1), !message.deleted[index - 1]
        else { return nil }
        return message.articles[index - 1]
    }

    func reset() {
        for id in Array(drafts.keys) { unlink(draftDirectory + "/" + id + ".json") }
        for id in Array(published.keys) { unlink(publishedDirectory + "/" + id + ".json") }
        unlink(jobsPath)
        drafts = [:]
        published = [:]
        jobs = [:]
        nextOutcome = nil
        publishSeconds = configuredPublishSeconds
    }

    // MARK: Pieces

    /// Ends the jobs whose time has come: a published draft leaves the box as a message.
    private func settle() throws {
        let now = clock.now
        var changed = false
        for (id, var job) in jobs where job.status == 1 && job.readyAt <= now {
            changed = true
            job.status = job.outcome.status
            if job.outcome == .published, let draft = drafts.removeValue(forKey: job.draftID) {
                unlink(draftDirectory + "/" + draft.id + ".json")
                let message = PublishedMessage(
                    id: RandomIDs.mediaID(), publishID: id, articles: draft.articles,
                    deleted: draft.articles.map { _ in false }, updateTime: max(job.readyAt, draft.updateTime),
                    sequence: takeSequence())
                try save(message)
                job.articleID = message.id
            } else if job.outcome == .published {
                // The draft was deleted while it was being published: nothing is left to publish.
                job.status = 3
                job.outcome = PublishOutcome(status: 3, failIndexes: [])
            }
            jobs[id] = job
        }
        if changed { try saveJobs() }
    }

    private func takeSequence() -> Int64 {
        defer { nextSequence += 1 }
        return nextSequence
    }

    private func save(_ draft: StoredDraft) throws {
        try AtomicFile.write(try JSONEncoder().encode(draft), to: draftDirectory + "/" + draft.id + ".json")
        drafts[draft.id] = draft
    }

    private func save(_ message: PublishedMessage) throws {
        try AtomicFile.write(try JSONEncoder().encode(message), to: publishedDirectory + "/" + message.id + ".json")
        published[message.id] = message
    }

    private func saveJobs() throws {
        try AtomicFile.write(try JSONEncoder().encode(Array(jobs.values)), to: jobsPath)
    }

    private static func page<T>(_ all: [T], offset: Int, count: Int) -> (total: Int, items: [T]) {
        guard offset < all.count else { return (all.count, []) }
        return (all.count, Array(all[offset..<min(all.count, offset + count)]))
    }
}
