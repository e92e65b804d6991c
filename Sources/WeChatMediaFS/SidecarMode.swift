/// Whether `NAME.media_id` sidecars are shown.
public enum SidecarMode: String, Sendable, CaseIterable {
    /// Listed and readable once the file is uploaded (the id is also `user.wechat.media_id`).
    case visible
    /// Never listed nor found: the id is only `user.wechat.media_id`. Creating or writing a
    /// sidecar name is accepted and dropped, so `cp -r` and `mv` of a tree holding sidecars (a
    /// backup taken from a mount), which create every name with O_EXCL, succeed.
    case off
}
