/// How the platform's "characters" are counted: Unicode scalars. A CJK character or a letter
/// counts one either way; scalars keep an emoji from counting as one character here and two
/// on a server that counts code points, while grapheme clusters could undercount a combined
/// emoji. One place, so that the rule changes in one place if the platform proves otherwise.
public enum TextLength {
    public static func characters(_ text: some StringProtocol) -> Int {
        text.unicodeScalars.count
    }
}
