/// A draft build that cannot go on, with the errno it fails with and the reason told (in the
/// folder's `user.wechat.error`, the log and `status`).
struct BuildRefusal: Error, CustomStringConvertible {
    var code: Int32
    var reason: String

    var description: String { reason }
}
