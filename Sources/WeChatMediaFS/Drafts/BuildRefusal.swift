/// A draft build that cannot go on, with the errno it fails with and the reason told (in the
/// folder's `user.wechat.error`, the log and `status`), and the server's refusal behind it if
/// any: one that may pass fails the build for now (as `DraftBuilder` judges), whatever `code`.
struct BuildRefusal: Error, CustomStringConvertible {
    var code: Int32
    var reason: String
    var cause: (any Error)? = nil

    var description: String { reason }
}
