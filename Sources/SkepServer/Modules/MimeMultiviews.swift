/// mod_mime's `MultiviewsMatch` (Apache's `multimatch` bits): which extensions of a
/// variant's name count as negotiable metadata when MultiViews compares names.
public struct MultiviewsMatch: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let any = MultiviewsMatch(rawValue: 1)
    public static let negotiatedOnly = MultiviewsMatch(rawValue: 2)
    public static let handlers = MultiviewsMatch(rawValue: 4)
    public static let filters = MultiviewsMatch(rawValue: 8)

    /// Adds one word as Apache's `multiviews_match` does; the error message when the
    /// word is unknown or conflicts with one already given.
    mutating func adding(_ word: String) -> String? {
        switch word.lowercased() {
        case "any":
            if !isEmpty && !subtracting(.any).isEmpty { return "Any is incompatible with NegotiatedOnly, Filters and Handlers" }
            insert(.any)
        case "negotiatedonly":
            if !isEmpty && !subtracting(.negotiatedOnly).isEmpty { return "NegotiatedOnly is incompatible with Any, Filters and Handlers" }
            insert(.negotiatedOnly)
        case "filters":
            if !intersection([.negotiatedOnly, .any]).isEmpty { return "Filters is incompatible with Any and NegotiatedOnly" }
            insert(.filters)
        case "handlers":
            if !intersection([.negotiatedOnly, .any]).isEmpty { return "Handlers is incompatible with Any and NegotiatedOnly" }
            insert(.handlers)
        default:
            return "Unrecognized option '\(word)'"
        }
        return nil
    }
}

extension MimeModule {
    /// The parts of a file name mod_mime does not recognise as metadata (Apache's
    /// `ap-mime-exceptions-list` note): the base name first (leading dots belong to it),
    /// then each extension, as written, that names no type, charset, language or
    /// encoding — nor a handler under `MultiviewsMatch Handlers`, or anything under `Any`.
    /// Nil when no extension was recognised: mod_negotiation then ignores the file.
    /// (Skep has no filter chain, so no extension names a filter for `Filters` to count.)
    public func multiviewsExceptions(name: String, config: MimeDirConfig) -> [String]? {
        let match = config.multiviewsMatch ?? []
        var rest = Substring(name)
        let leadingDots = rest.prefix(while: { $0 == "." }).count
        guard let dot = rest.dropFirst(leadingDots).firstIndex(of: ".") else { return nil }
        var exceptions = [String(rest[..<dot])]
        rest = rest[rest.index(after: dot)...]
        var foundMetadata = false
        for part in rest.split(separator: ".", omittingEmptySubsequences: true) {
            let ext = part.lowercased()
            let info = config.mappings[ext]
            var found = false
            if info?.type == nil, types.type(forExtension: ext) != nil { found = true }
            if let info {
                if info.type?.isEmpty == false { found = true }
                if info.charset != nil || info.language != nil || info.encoding != nil { found = true }
                if info.handler != nil && match.contains(.handlers) { found = true }
            }
            if found || match.contains(.any) {
                foundMetadata = true
            } else {
                exceptions.append(String(part))
            }
        }
        return foundMetadata ? exceptions : nil
    }
}
