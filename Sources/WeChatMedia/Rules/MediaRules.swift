/// The platform's acceptance rules for one media type and limits profile: size, format by magic
/// bytes, voice length, whole MP4 structure. The client applies them before any network call and
/// the emulator applies the same code to judge uploads, so the two can never disagree.
public struct MediaRules: Sendable, Hashable {
    public let profile: LimitsProfile

    public init(profile: LimitsProfile) { self.profile = profile }

    /// Accepts the bytes of `source` as `type` and tells their format, or throws why not.
    public func check(_ source: inout some ByteSource, as type: MediaType) throws(MediaRuleViolation) -> MediaFormat {
        do {
            return try checkThrowingAny(&source, as: type)
        } catch let violation as MediaRuleViolation {
            throw violation
        } catch {
            throw .unreadable(String(describing: error))
        }
    }

    /// Accepts the file at `path` as `type` and tells its format, or throws why not.
    public func check(fileAt path: String, as type: MediaType) throws(MediaRuleViolation) -> MediaFormat {
        let file: FileByteSource
        do {
            file = try FileByteSource(path: path)
        } catch {
            throw .unreadable(String(describing: error))
        }
        var source = file
        return try check(&source, as: type)
    }

    /// Whether a multipart filename's extension is one the API accepts for `type`.
    public func acceptsFilename(_ filename: String, as type: MediaType) -> Bool {
        guard let dot = filename.lastIndex(of: "."), dot != filename.startIndex else { return false }
        let ext = filename[filename.index(after: dot)...]
        let allowed = profile.formats(for: type)
        return MediaFormat.formats(forExtension: String(ext)).contains(where: allowed.contains)
    }

    private func checkThrowingAny(_ source: inout some ByteSource, as type: MediaType) throws -> MediaFormat {
        guard source.count > 0 else { throw MediaRuleViolation.empty }
        let limit = profile.maxSize(for: type)
        guard source.count <= limit else {
            throw MediaRuleViolation.tooLarge(type: type, size: source.count, limit: limit)
        }
        let prefix = try source.bytes(at: 0, length: FormatSniffer.prefixLength)
        guard let format = FormatSniffer.detect(prefix: prefix) else {
            throw MediaRuleViolation.unrecognizedFormat(type: type)
        }
        guard profile.formats(for: type).contains(format) else {
            throw MediaRuleViolation.formatNotAllowed(type: type, format: format)
        }
        switch format {
        case .mp3, .amr, .amrWideband:
            let milliseconds: Int
            do {
                milliseconds =
                    format == .mp3
                    ? try AudioDuration.mp3Milliseconds(&source)
                    : try AudioDuration.amrMilliseconds(&source)
            } catch let failure as AudioDuration.Failure {
                throw MediaRuleViolation.malformed(format: format, detail: "\(failure)")
            }
            guard milliseconds <= profile.maxVoiceMilliseconds else {
                throw MediaRuleViolation.tooLong(milliseconds: milliseconds, limit: profile.maxVoiceMilliseconds)
            }
        case .mp4:
            do {
                try MP4Structure.validate(&source)
            } catch let failure as MP4Structure.Failure {
                throw MediaRuleViolation.malformed(format: format, detail: "\(failure)")
            }
        case .jpeg, .png, .gif:
            break
        }
        return format
    }
}
