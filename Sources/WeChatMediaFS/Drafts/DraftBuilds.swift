import Articles
import Deadlines
import FUSEKit
import MediaCatalog
import Synchronization

/// When article folders are built. A folder is planned on every close in it (cheap: articles
/// are read, pictures only named); once whole, its build is due when the folder has been left
/// alone for the settle time, so that `cp -r` builds once, on whatever close completes it, in
/// whatever order it copies: a close cannot know it is the last (plain `cp -r` sends nothing at
/// the end), a quiet folder can. Due builds run as children of `run`, a child of the mount's
/// maintenance; `fsync`, `wxmediafs sync` and `mv` to `/published/` build at once, in their own
/// task, what is due. Builds of one folder run one at a time, in the fleet too (a folder
/// another host builds is built here once that build ends, if this host's change is newer).
/// A build that failed for a reason that may pass (its errno is EAGAIN) is due again by itself,
/// later each time, and again in the next mount.
final class DraftBuilds: Sendable {
    private struct State {
        /// Folders whose build waits for quiet, with when it is due.
        var due: [Int64: ContinuousClock.Instant] = [:]
        /// Folders being built.
        var building: Set<Int64> = []
        /// Folders whose last builds failed for now, with how many times in a row.
        var failures: [Int64: Int] = [:]
        var stopped = false
    }

    /// How long a hurried build waits before asking again for a folder another host builds.
    static let elsewhereRecheck = Duration.milliseconds(100)
    /// How long a hurried build waits for another host's build of the folder to end.
    static let elsewhereWait = Duration.seconds(30)

    private let builder: DraftBuilder
    private let settle: Duration
    private let retryDelay: Duration
    private let state = Mutex(State())
    /// Told when a folder's build ends.
    private let ended = Waiters<Int64, Void>()
    /// Tells `run` that a build fell due sooner than it was waiting for, or a folder whose
    /// build was due stopped being built: it sleeps until the next due build, not on a tick
    /// (so an idle mount does not wake).
    private let dueChanged = Waiters<DueChange, Void>()

    private enum DueChange: Hashable, Sendable { case dueChanged }

    init(builder: DraftBuilder, settle: Duration, retryDelay: Duration) {
        self.builder = builder
        self.settle = settle
        self.retryDelay = retryDelay
    }

    /// A name was created in the folder: a build waiting for quiet waits again.
    func touched(_ folder: DraftFolder) {
        guard let id = folder.id else { return }
        let settle = settle
        state.withLock { state in
            if state.due[id] != nil { state.due[id] = .now + settle }
        }
    }

    /// A file `name` of the folder was closed (or renamed into place): plans the folder and
    /// records what it waits for, or makes its build due. Returns the errno for the close when
    /// `name` is an article that breaks a rule (or the folder-wide rule it broke).
    func changed(_ folder: DraftFolder, closing name: String) async -> FUSEError? {
        guard let id = folder.id, folder.location == .drafts else { return nil }
        let plan = await builder.planAndRecord(id)
        let settle = settle
        state.withLock { state in
            state.failures[id] = nil
            if case .ready = plan, !state.stopped { state.due[id] = .now + settle } else { state.due[id] = nil }
        }
        dueChanged.answerAll(.dueChanged, with: ())
        guard case .invalid(let error) = plan,
            error.file == name || (error.file == nil && FolderEntry.classify(name) != .asset)
        else { return nil }
        return FUSEError.invalid
    }

    /// Runs each build as it falls due, until cancelled; a build running then ends first (one
    /// cut short is redone by the next change: the folder's files are kept).
    func run() async {
        await resume()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                for id in claimDue() {
                    group.addTask { _ = await self.build(claimed: id, retryLater: true) }
                }
                let next = nextDue()
                await dueChanged.wait(for: .dueChanged, until: next, timedOut: ()) {
                    // Due sooner than `next` before this waiter was stored: look again now.
                    guard let sooner = self.nextDue(), next.map({ sooner < $0 }) ?? true else { return nil }
                    return ()
                }
            }
        }
    }

    /// Folders a mount that ended left due (`building` in the catalog) are due again, and so
    /// are those whose build failed for now (`failed` with EAGAIN), after the first retry delay.
    private func resume() async {
        let catalog = builder.catalog
        let building = (try? await catalog.draftFolders(in: .building)) ?? []
        let failed = ((try? await catalog.draftFolders(in: .failed)) ?? []).filter {
            $0.location == .drafts && $0.errorCode == DraftBuilder.failedForNow
        }
        let (settle, retryDelay) = (settle, retryDelay)
        state.withLock { state in
            for id in building.compactMap(\.id) where state.due[id] == nil { state.due[id] = .now + settle }
            for id in failed.compactMap(\.id) where state.due[id] == nil {
                state.due[id] = .now + retryDelay
                state.failures[id] = 1
            }
        }
    }

    /// Builds now a build that is due, and waits for the folder's build to end (another
    /// host's build of it too, for up to `elsewhereWait`).
    func hurry(_ id: Int64) async {
        let wasDue = state.withLock { $0.due.removeValue(forKey: id) != nil }
        let giveUp = ContinuousClock.now + Self.elsewhereWait
        while true {
            await untilIdle(id)
            guard wasDue else { return }
            let claimed = state.withLock { state -> Bool? in
                state.stopped ? nil : state.building.insert(id).inserted
            }
            switch claimed {
            case nil: return
            case true?:
                let late = ContinuousClock.now >= giveUp
                if await build(claimed: id, retryLater: late) != .elsewhere || late { return }
                try? await Task.sleep(for: Self.elsewhereRecheck)
                if Task.isCancelled { return }
            case false?: continue
            }
        }
    }

    /// Every due build, now; then waits for every build (`wxmediafs sync`).
    func hurryAll() async {
        let ids = state.withLock { Set($0.due.keys).union($0.building) }
        for id in ids { await hurry(id) }
    }

    /// The folder went: nothing of it is built any more.
    func forget(_ id: Int64) async {
        state.withLock { state in
            state.due[id] = nil
            state.failures[id] = nil
        }
        await untilIdle(id)
    }

    /// At shutdown: no build starts; running ones end.
    func stop() async {
        let building = state.withLock { state in
            state.stopped = true
            state.due.removeAll()
            return state.building
        }
        for id in building { await untilIdle(id) }
    }

    /// Whether a build runs: its new draft may be listed before the folder records its id.
    var isBuilding: Bool { state.withLock { !$0.building.isEmpty } }

    /// When the first due folder not being built falls due; nil when none is.
    private func nextDue() -> ContinuousClock.Instant? {
        state.withLock { state in
            state.due.filter { !state.building.contains($0.key) }.values.min()
        }
    }

    /// The due folders not being built, now marked as being built.
    private func claimDue() -> [Int64] {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard !state.stopped else { return [] }
            let ids = state.due.filter { $0.value <= now && !state.building.contains($0.key) }.map(\.key)
            for id in ids {
                state.due[id] = nil
                state.building.insert(id)
            }
            return ids
        }
    }

    /// Builds it; if another host was building it, it is due again after the settle time when
    /// `retryLater`; if it failed for now, after the retry delay, doubled on each failure.
    private func build(claimed id: Int64, retryLater: Bool) async -> DraftBuilder.Outcome {
        let outcome = await builder.build(id)
        let (settle, retryDelay) = (settle, retryDelay)
        state.withLock { state in
            state.building.remove(id)
            switch outcome {
            case .done:
                state.failures[id] = nil
            case .elsewhere:
                if retryLater, !state.stopped, state.due[id] == nil { state.due[id] = .now + settle }
            case .failedForNow:
                let failures = (state.failures[id] ?? 0) + 1
                state.failures[id] = failures
                let delay = LaterTries.delay(first: retryDelay, failures: failures)
                if !state.stopped, state.due[id] == nil { state.due[id] = .now + delay }
            }
        }
        ended.answerAll(id, with: ())
        dueChanged.answerAll(.dueChanged, with: ())
        return outcome
    }

    private func untilIdle(_ id: Int64) async {
        await ended.wait(for: id, until: nil, timedOut: ()) {
            self.state.withLock { $0.building.contains(id) } ? nil : ()
        }
    }
}
