/// One variant of a negotiated resource (Apache's `var_rec`): a file next to the
/// requested one (MultiViews) or an entry of a type map, with what it is labelled as,
/// and the qualities the negotiation works out for it.
public struct Variant: Sendable, Hashable {
    /// The file's name relative to the directory (a type map's `URI:` may hold a path).
    public var fileName: String
    /// The media type without parameters, lower-cased; "" when none is known.
    public var mimeType: String = ""
    public var encoding: String?
    public var languages: [String] = []
    /// The `charset` parameter of the type, lower-cased; "" when none.
    public var charset: String = ""
    /// A type map's `Description:`.
    public var description: String = ""
    /// The source quality: the type's `qs` parameter (type maps), 1 for a type without
    /// one, and 0 until a type is set (Apache's `clean_var_rec`).
    public var sourceQuality: Float = 0
    public var level: Float = 0
    /// The length in bytes when known (a file's size, a map's `Content-Length`), else -1.
    public var bytes: Int64 = -1
    /// For a type map's inline `Body:`: the bytes of the body.
    public var body: [UInt8]?
    /// The variant would be run by a handler (an `AddHandler` extension): Apache leaves
    /// its length out of `Alternates` (a script's size is not its output's).
    public var hasHandler = false

    // What negotiation works out (Apache sets these in `best_match`).
    public var languageQuality: Float = 1
    public var encodingQuality: Float = 1
    public var charsetQuality: Float = 1
    public var typeQuality: Float = 1
    public var languageIndex = -1
    var levelMatched: Float = 0
    var typeStars = 0
    public var definite = true

    public init(fileName: String) { self.fileName = fileName }

    /// Fills the type fields from a parsed `Content-Type` (Apache's `set_mime_fields`).
    public mutating func setType(_ item: AcceptItem) {
        mimeType = item.name
        sourceQuality = item.quality
        level = item.level
        charset = item.charset
    }

    /// `text/html` or one of the server-parsed types, whose levels compare (`is_pseudo_html`).
    var isPseudoHTML: Bool { mimeType == "text/html" || AcceptHeader.includesTypes.contains(mimeType) }

    /// The languages as Apache joins them for `Alternates` and the variant list.
    var languageList: String? { languages.isEmpty ? nil : languages.joined(separator: ",") }
}
