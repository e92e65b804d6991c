/// What the mount assumes while it checks an article folder before uploading; the platform's
/// own limits are `DraftLimits` (WeChatMedia), which the emulator enforces too.
public enum ArticleLimits {
    /// What a local picture's `src` is counted as before its URL exists: `media/uploadimg` and
    /// `add_material` URLs are about 120 characters, so the content checked before uploading
    /// cannot grow past a limit once its pictures are swapped for their URLs.
    public static let assumedPictureURLLength = 200
}
