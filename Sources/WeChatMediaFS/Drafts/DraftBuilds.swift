import Articles
import FUSEKit
import MediaCatalog

/// When article folders are built. A folder is planned on every close in it (cheap: articles
/// are read, pictures only named); once whole, its build waits until the folder has been left
/// alone for the settle time, so that `cp -r` builds once, on whatever close completes it, in
/// whatever order it copies: a close cannot know it is the last (plain `cp -r` sends nothing at
/// the end), a quiet folder can. `fsync`, `wxmediafs sync` and `mv` to `/published/` build at
/// once what waits. Builds of one folder run one at a time.
actor DraftBuilds {
    private let builder: DraftBuilder
    private let settle: Duration
    /// Builds waiting for their folder to be quiet.
    private var timers: [Int64: Task<Void, Never>] = [:]
    /// Each folder's latest build, which waits for the one before it.
    private var running: [Int64: Task<Void, Never>] = [:]
    private var stopped = false

    init(builder: DraftBuilder, settle: Duration) {
        self.builder = builder
        self.settle = settle
    }

    /// A name was created in the folder: a build waiting for quiet waits again.
    func touched(_ folder: DraftFolder) {
        guard let id = folder.id, timers[id] != nil else { return }
        schedule(id)
    }

    /// A file `name` of the folder was closed (or renamed into place): plans the folder and
    /// records what it waits for, or schedules its build. Returns the errno for the close when
    /// `name` is an article that breaks a rule (or the folder-wide rule it broke).
    func changed(_ folder: DraftFolder, closing name: String) async -> FUSEError? {
        guard let id = folder.id, folder.location == .drafts else { return nil }
        let plan = await builder.planAndRecord(id)
        switch plan {
        case .ready:
            schedule(id)
            return nil
        case .invalid(let error):
            timers.removeValue(forKey: id)?.cancel()
            guard error.file == name || (error.file == nil && FolderEntry.classify(name) != .asset) else { return nil }
            return FUSEError.invalid
        case .waiting, nil:
            timers.removeValue(forKey: id)?.cancel()
            return nil
        }
    }

    /// Builds now a build that waits for quiet, and waits for the folder's builds to end.
    func hurry(_ id: Int64) async {
        if let timer = timers.removeValue(forKey: id) {
            timer.cancel()
            startBuild(id)
        }
        await running[id]?.value
    }

    /// Every folder's waiting build, now; then waits for all (`wxmediafs sync`).
    func hurryAll() async {
        for id in Array(timers.keys) { await hurry(id) }
        for task in Array(running.values) { await task.value }
    }

    /// The folder went: nothing of it is built any more.
    func forget(_ id: Int64) async {
        timers.removeValue(forKey: id)?.cancel()
        await running[id]?.value
    }

    /// At shutdown: no build starts; running ones end (a build cut short is redone by the next
    /// change, the folder's files being kept).
    func stop() async {
        stopped = true
        for timer in timers.values { timer.cancel() }
        timers.removeAll()
        for task in running.values { await task.value }
    }

    /// Whether a build runs: its new draft may be listed before the folder records its id.
    var isBuilding: Bool { !running.isEmpty }

    private func schedule(_ id: Int64) {
        guard !stopped else { return }
        timers.removeValue(forKey: id)?.cancel()
        let settle = settle
        timers[id] = Task {
            do {
                try await Task.sleep(for: settle)
            } catch {
                return
            }
            // Rescheduled after the sleep ended, before this ran: the newer timer decides.
            guard !Task.isCancelled else { return }
            self.settled(id)
        }
    }

    private func settled(_ id: Int64) {
        guard timers.removeValue(forKey: id) != nil else { return }
        startBuild(id)
    }

    private func startBuild(_ id: Int64) {
        guard !stopped else { return }
        let previous = running[id]
        let builder = builder
        let task = Task {
            await previous?.value
            await builder.build(id)
        }
        running[id] = task
        Task {
            await task.value
            self.finished(id, task)
        }
    }

    private func finished(_ id: Int64, _ task: Task<Void, Never>) {
        if running[id] == task { running[id] = nil }
    }
}
