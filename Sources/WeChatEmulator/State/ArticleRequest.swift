import WeChatMedia

/// An article read from a request: taken, or refused with the platform's errcode.
enum ArticleCheck {
    case accepted(StoredArticle)
    case refused(WeChatErrorCode)
}

/// An article of a request checked against the platform's field limits (`DraftLimits`), with
/// the errcode each answers: the global return codes as WxJava's `WxMpErrorMsgEnum` lists them.
enum ArticleRequest {
    /// Reads one ARTICLE object of a request, or the errcode the platform answers: not an object,
    /// or without `title` or `content`: 44003 (empty news data; the code the platform gives for
    /// an article it finds nothing in); a field too long: 45003 title, 45004 digest, 45002
    /// content, 45005 content_source_url, 45021 author (no code of its own); no cover for a
    /// news article: 41006; flags that are not 0 or 1: 47001. Ids are checked by the caller.
    static func read(_ value: Any?) -> ArticleCheck {
        guard let object = value as? [String: Any] else { return .refused(.emptyNewsData) }
        let type = (object["article_type"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? StoredArticle.newsType
        guard type == StoredArticle.newsType || type == StoredArticle.pictureType else {
            return .refused(.dataFormatError)
        }
        guard let title = object["title"] as? String, !title.isEmpty,
            let content = object["content"] as? String, !content.isEmpty
        else {
            return .refused(.emptyNewsData)
        }
        let author = object["author"] as? String ?? ""
        let digest = object["digest"] as? String ?? ""
        let sourceURL = object["content_source_url"] as? String ?? ""
        if DraftLimits.characters(in: title) > DraftLimits.title { return .refused(.titleSizeOutOfLimit) }
        if DraftLimits.characters(in: author) > DraftLimits.author { return .refused(.argumentOutOfLengthLimit) }
        if DraftLimits.characters(in: digest) > DraftLimits.digest { return .refused(.descriptionSizeOutOfLimit) }
        if DraftLimits.characters(in: content) >= DraftLimits.contentCharacters
            || content.utf8.count >= DraftLimits.contentBytes
        {
            return .refused(.contentSizeOutOfLimit)
        }
        if DraftLimits.characters(in: sourceURL) > DraftLimits.sourceURL { return .refused(.urlSizeOutOfLimit) }
        guard let openComment = flag(object["need_open_comment"]), let fansOnly = flag(object["only_fans_can_comment"])
        else {
            return .refused(.dataFormatError)
        }
        let thumb = object["thumb_media_id"] as? String ?? ""
        var images: [String] = []
        if type == StoredArticle.pictureType {
            let list = (object["image_info"] as? [String: Any])?["image_list"] as? [Any] ?? []
            images = list.compactMap { ($0 as? [String: Any])?["image_media_id"] as? String }
            guard !images.isEmpty, images.count == list.count else { return .refused(.mediaIDMissing) }
        } else if thumb.isEmpty {
            return .refused(.mediaIDMissing)
        }
        return .accepted(
            StoredArticle(
                articleType: type, title: title, author: author, digest: digest, content: content,
                contentSourceURL: sourceURL, thumbMediaID: thumb, needOpenComment: openComment,
                onlyFansCanComment: fansOnly, picCrop2351: object["pic_crop_235_1"] as? String ?? "",
                picCrop11: object["pic_crop_1_1"] as? String ?? "", imageMediaIDs: images))
    }

    /// A 0/1 flag sent as a number, numeric string or JSON bool; absent is 0.
    private static func flag(_ value: Any?) -> Int? {
        guard let value else { return 0 }
        guard let number = EmulatorAPI.integer(value), number == 0 || number == 1 else { return nil }
        return number
    }
}
