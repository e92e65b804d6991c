import Deadlines
import FUSEKit
import MediaCatalog
import Synchronization
import WeChatMedia

/// Follows submitted drafts until they end `published` or `publish-failed`, polling
/// `freepublish/get` (100 a day for the whole account) on a budget the mount never passes:
/// each job is polled after 10 s, then less and less often (up to hourly); once the day's
/// budget is spent, the rest wait for the next day (days start at 00:00 Beijing time, when the
/// platform's quotas do). The budget is counted in the catalog: on PostgreSQL, the fleet's, and
/// each poll of a job is taken by one host (`claimPublishPoll`).
final class PublishWatcher: Sendable {
    let context: MountContext
    let catalog: any DraftCatalog
    let service: any DraftService
    /// How many jobs this mount submitted, so that an idle `run` that was about to wait sees one
    /// submitted while it looked.
    private let submissions = Mutex<UInt64>(0)
    private let submitted = Waiters<Submitted, Void>()
    private enum Submitted: Hashable, Sendable { case submitted }

    init(context: MountContext, catalog: any DraftCatalog, service: any DraftService) {
        (self.context, self.catalog, self.service) = (context, catalog, service)
    }

    static let firstPollDelay: Int64 = 10
    static let longestPollDelay: Int64 = 3600
    /// How long a job this host took for a poll is not another host's to poll.
    static let pollLease: Int64 = 120
    /// Beijing is UTC+8 all year.
    static let dayOffset: Int64 = 8 * 3600

    static func day(of seconds: Int64) -> Int64 { (seconds + dayOffset) / 86400 }
    static func startOfDay(after seconds: Int64) -> Int64 { (day(of: seconds) + 1) * 86400 - dayOffset }

    /// Polls every job that is due, as far as the day's budget lets; returns how many polls it spent.
    @discardableResult
    func pollDue() async -> Int {
        await poll().spent
    }

    /// Polls what is due; also says whether any job is publishing (or the catalog could not say).
    private func poll() async -> (spent: Int, following: Bool) {
        let now = context.clock.seconds
        guard var due = try? await catalog.draftFolders(in: .publishing) else { return (0, true) }
        let following = !due.isEmpty
        due = due.filter { ($0.nextPollAt ?? 0) <= now }.sorted { ($0.nextPollAt ?? 0) < ($1.nextPollAt ?? 0) }
        var spent = 0
        var exhausted = false
        for var folder in due {
            guard let id = folder.id, let publishID = folder.publishID,
                (try? await catalog.claimPublishPoll(id: id, due: folder.nextPollAt, next: now + Self.pollLease))
                    == true
            else { continue }
            folder.nextPollAt = now + Self.pollLease
            let day = Self.day(of: now)
            guard !exhausted,
                (try? await catalog.spendPublishPoll(day: day, budget: context.settings.publishPollsPerDay)) == true
            else {
                // The day's polls are spent: this and every later job wait for tomorrow.
                folder.nextPollAt = max(folder.nextPollAt ?? 0, Self.startOfDay(after: now))
                try? await catalog.updateDraftFolder(folder)
                continue
            }
            spent += 1
            DraftMetrics.polled()
            folder.polls += 1
            let path = DraftsTree.displayPath(of: folder)
            do {
                let status = try await service.publishStatus(publishID: publishID)
                apply(status, to: &folder, path: path)
            } catch let error as APIError where error.kind == .quota {
                // The account's day is spent (other tools poll too): nothing more until tomorrow.
                context.logger.warning("freepublish/get of \(path) refused: \(error.errmsg); polling resumes tomorrow")
                folder.nextPollAt = Self.startOfDay(after: now)
                try? await catalog.updateDraftFolder(folder)
                exhausted = true
                continue
            } catch {
                context.logger.warning("freepublish/get of \(path) (publish_id \(publishID)) failed: \(error)")
            }
            if folder.state == .publishing {
                let delay = min(Self.longestPollDelay, Self.firstPollDelay << min(Int64(folder.polls), 20))
                folder.nextPollAt = now + delay
            } else {
                folder.nextPollAt = nil
            }
            try? await catalog.updateDraftFolder(folder)
        }
        if !due.isEmpty {
            let used = (try? await catalog.publishPollsSpent(day: Self.day(of: now))) ?? 0
            let publishing = (try? await catalog.draftFolders(in: .publishing).count) ?? 0
            DraftMetrics.budget(remaining: max(0, context.settings.publishPollsPerDay - used), publishing: publishing)
        }
        return (spent, following)
    }

    private func apply(_ status: PublishStatus, to folder: inout DraftFolder, path: String) {
        folder.publishStatus = status.state.rawValue
        switch status.state {
        case .publishing:
            return
        case .published:
            folder.state = .published
            folder.articleID = status.articleID
            folder.articleURLs = status.articleURLs.sorted { $0.index < $1.index }.map(\.url).joined(separator: "\n")
            (folder.error, folder.errorCode) = (nil, nil)
            context.logger.notice("published \(path): \(folder.articleURLs ?? "")")
        case .originalCheckFailed, .failed, .refusedByReview, .deletedByUser, .banned:
            folder.state = .publishFailed
            let articles =
                status.failIndexes.isEmpty
                ? "" : ", articles \(status.failIndexes.map(String.init).joined(separator: ", "))"
            let reason = "publish_status \(status.state.rawValue) (\(Self.name(of: status.state)))\(articles)"
            folder.error = reason
            folder.errorCode = EIO
            context.reporter.report("publish", of: path, FUSEError.io, errno: EIO, reason: reason)
        }
    }

    static func name(of state: PublishState) -> String {
        switch state {
        case .published: "published"
        case .publishing: "publishing"
        case .originalCheckFailed: "original check failed"
        case .failed: "failed"
        case .refusedByReview: "refused by review"
        case .deletedByUser: "deleted by the user"
        case .banned: "banned"
        }
    }

    /// This mount submitted a job: an idle `run` follows it now.
    func noteSubmitted() {
        submissions.withLock { $0 += 1 }
        submitted.answerAll(.submitted, with: ())
    }

    /// Polls what is due every `interval` while a job is publishing, until cancelled. With none,
    /// the catalog is read again after `idleInterval` (for a job another host of a fleet
    /// submitted and no longer follows), or as soon as this mount submits one.
    func run(every interval: Duration = .seconds(2), idleInterval: Duration = .seconds(30)) async {
        while !Task.isCancelled {
            let seen = submissions.withLock { $0 }
            let following = await poll().following
            await submitted.wait(for: .submitted, until: .now + (following ? interval : idleInterval), timedOut: ()) {
                self.submissions.withLock { $0 } != seen ? () : nil
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
