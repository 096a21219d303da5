import CPCRE2
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular expression as Apache has them: PCRE2 (8-bit, on bytes), compiled once at
/// configuration time with `ap_regcomp`'s options, JIT-compiled where PCRE2 can, and
/// matched with one match-data block per thread, so that a match allocates nothing.
///
/// It is immutable once built and shared by every thread (PCRE2's compiled code is
/// read-only during a match; the mutable state lives in the thread's match data).
/// The whole server uses this type for `<LocationMatch>`, `<FilesMatch>`,
/// `<DirectoryMatch>`, `AliasMatch`, `RedirectMatch` and `ProxyPassMatch`.
public final class PCRERegex: @unchecked Sendable {
    /// Why PCRE2 refused a pattern: its own message and the byte offset in the pattern
    /// where it stopped, as `pcre2_get_error_message` and `erroroffset` give them.
    public struct CompileError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public let offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    /// The pattern as written in the configuration.
    public let pattern: String
    /// The number of capturing groups (`$1`... refer to them).
    public let captureCount: Int
    /// True when PCRE2's JIT compiled the pattern to machine code; the interpreter
    /// matches otherwise, with the same results.
    public let isJIT: Bool
    /// The options the pattern was compiled with (the defaults and the directive's own).
    public let options: Options
    /// Whether the pattern was compiled case-insensitively (the `NoCase` directives, `~*`,
    /// or `RegexDefaultOptions +ICASE`).
    public var isCaseless: Bool { options.contains(.caseless) }
    private let code: OpaquePointer

    /// Compiles `pattern` as Apache's `ap_regcomp` does: PCRE2 with duplicate group names
    /// allowed and the configuration's default options (`RegexDefaultOptions`; Apache's
    /// `AP_REG_DEFAULT` when none was written: `.` matches a newline, `$` matches only at
    /// the very end); `caseless` adds `AP_REG_ICASE` (the `NoCase` directives, `~*`), and
    /// `noDefault` leaves the defaults out (`AP_REG_NO_DEFAULT`).
    public init(_ pattern: String, caseless: Bool = false, noDefault: Bool = false) throws(CompileError) {
        var flags: Options = noDefault ? [] : Self.defaultOptions
        if caseless { flags.insert(.caseless) }
        var options = PCRE2_DUPNAMES
        if flags.contains(.caseless) { options |= PCRE2_CASELESS }
        if flags.contains(.dotAll) { options |= PCRE2_DOTALL }
        if flags.contains(.dollarEndOnly) { options |= PCRE2_DOLLAR_ENDONLY }
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        var source = pattern
        let compiled = source.withUTF8 { bytes in
            Self.withBase(UnsafeRawBufferPointer(bytes)) { pcre2_compile_8($0, bytes.count, options, &errorCode, &errorOffset, nil) }
        }
        guard let compiled else {
            throw CompileError(message: Self.message(errorCode), offset: errorOffset)
        }
        var groups: UInt32 = 0
        _ = pcre2_pattern_info_8(compiled, UInt32(bitPattern: PCRE2_INFO_CAPTURECOUNT), &groups)
        self.pattern = pattern
        self.code = compiled
        self.captureCount = Int(groups)  // trap-safe: UInt32 widens to Int
        self.options = flags
        // Without JIT support (or out of executable memory) PCRE2's interpreter is used.
        self.isJIT = pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0
    }

    deinit { pcre2_code_free_8(code) }

    /// True when the pattern matches somewhere in `text` (its UTF-8 bytes).
    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// True when the pattern matches somewhere in `subject`, which need not be valid UTF-8.
    public func matches(utf8 subject: UnsafeRawBufferPointer) -> Bool {
        guard let data = ThreadMatchData.current() else { return false }
        return run(subject, data) >= 0
    }

    /// The first match in `text` with its groups, or nil.
    public func firstMatch(in text: String) -> Match? {
        firstMatch(in: text, from: 0)
    }

    /// The first match in `text` at or after byte `offset` (offsets in the match count
    /// from the start of `text`, as `ap_regexec_ex`'s do), or nil. `nonEmptyAnchored`
    /// asks for a match that starts at `offset` and is not empty there (PCRE2's
    /// `NOTEMPTY_ATSTART | ANCHORED`): how a global substitution steps past an empty
    /// match, as mod_headers' `edit*` and Perl's `/g` do.
    public func firstMatch(in text: String, from offset: Int, nonEmptyAnchored: Bool = false) -> Match? {
        firstMatch(utf8: Array(text.utf8), from: offset, nonEmptyAnchored: nonEmptyAnchored)
    }

    /// The first match in `subject`, bytes that need not be UTF-8 (a decoded request path
    /// with `%E9` in it): its groups keep the subject's bytes as they are.
    public func firstMatch(utf8 subject: [UInt8], from offset: Int = 0, nonEmptyAnchored: Bool = false) -> Match? {
        subject.withUnsafeBytes { bytes -> Match? in
            guard offset >= 0, offset <= bytes.count else { return nil }
            let options: UInt32 = nonEmptyAnchored ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0
            guard let data = ThreadMatchData.current(),
                  run(bytes, data, offset: offset, options: options) >= 0 else { return nil }
            let ovector = pcre2_get_ovector_pointer_8(data)
            let pairs = min(captureCount + 1, Int(pcre2_get_ovector_count_8(data)))  // trap-safe: UInt32 widens to Int
            var offsets: [Int] = []
            offsets.reserveCapacity(pairs * 2)
            // PCRE2_SIZE is size_t, an Int in Swift: an unset group's PCRE2_UNSET reads as -1.
            for i in 0..<pairs * 2 { offsets.append(ovector.map { Int(truncatingIfNeeded: $0[i]) } ?? -1) }
            return Match(subjectBytes: subject, offsets: offsets)
        }
    }

    /// The first match in `subject`, which need not be valid UTF-8 (mod_rewrite matches
    /// the bytes of a path, as Apache's PCRE does), as byte offsets: start and end of `$0`
    /// and of each group, -1 for a group that took no part; nil when it does not match.
    public func firstMatchOffsets(bytes subject: UnsafeRawBufferPointer) -> [Int]? {
        guard let data = ThreadMatchData.current(), run(subject, data) >= 0 else { return nil }
        let ovector = pcre2_get_ovector_pointer_8(data)
        let pairs = min(captureCount + 1, Int(pcre2_get_ovector_count_8(data)))  // trap-safe: UInt32 widens to Int
        var offsets: [Int] = []
        offsets.reserveCapacity(pairs * 2)
        for i in 0..<pairs * 2 { offsets.append(ovector.map { Int(truncatingIfNeeded: $0[i]) } ?? -1) }
        return offsets
    }

    /// PCRE2's return code: the number of pairs set, 0 when the match data holds fewer
    /// pairs than the pattern has groups (still a match), negative for no match or an
    /// error (a match or depth limit), which Apache also treats as no match.
    private func run(_ subject: UnsafeRawBufferPointer, _ data: OpaquePointer, offset: Int = 0, options: UInt32 = 0) -> Int32 {
        Self.withBase(subject) { base in
            // ANCHORED was not given at compile time, so the JIT has no code for it.
            guard isJIT, options & PCRE2_ANCHORED == 0 else { return pcre2_match_8(code, base, subject.count, offset, options, data, nil) }
            let rc = pcre2_jit_match_8(code, base, subject.count, offset, options, data, nil)
            // The JIT's stack (32 KiB by default) can be too small for a deeply nested
            // match that the interpreter, whose frames live on the heap, completes: Apache
            // (no JIT) would match, so the interpreter decides.
            guard rc == PCRE2_ERROR_JIT_STACKLIMIT else { return rc }
            return pcre2_match_8(code, base, subject.count, offset, options | PCRE2_NO_JIT, data, nil)
        }
    }

    /// The PCRE2 library the server runs with, as Apache's `-V` prints it ("10.42 2022-12-11").
    public static var libraryVersion: String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = pcre2_config_8(UInt32(bitPattern: PCRE2_CONFIG_VERSION), &buffer)
        return String(decoding: buffer.prefix(max(0, Int(count) - 1)), as: UTF8.self)  // trap-safe: Int32 widens to Int
    }

    /// Whether this PCRE2 has its JIT compiler for this machine.
    public static var isJITAvailable: Bool {
        var jit: UInt32 = 0
        return pcre2_config_8(UInt32(bitPattern: PCRE2_CONFIG_JIT), &jit) >= 0 && jit == 1
    }

    private static func message(_ code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = pcre2_get_error_message_8(code, &buffer, buffer.count)
        guard count > 0 else { return "PCRE2 error \(code)" }
        return String(decoding: buffer.prefix(Int(count)), as: UTF8.self)  // trap-safe: Int32 widens, and count > 0
    }

    /// PCRE2 wants a non-null pointer even for an empty subject or pattern, which Swift
    /// may hand over as a buffer without a base address.
    private static func withBase<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        if let base = bytes.baseAddress { return body(base.assumingMemoryBound(to: UInt8.self)) }
        var zero: UInt8 = 0
        return withUnsafePointer(to: &zero, body)
    }
}

extension PCRERegex {
    /// Apache's compile flags that `RegexDefaultOptions` names (`AP_REG_ICASE`,
    /// `AP_REG_DOTALL`, `AP_REG_DOLLAR_ENDONLY`).
    public struct Options: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let caseless = Options(rawValue: 1 << 0)
        public static let dotAll = Options(rawValue: 1 << 1)
        public static let dollarEndOnly = Options(rawValue: 1 << 2)
        /// `AP_REG_DEFAULT`, Apache 2.4.30's and later default.
        public static let apacheDefault: Options = [.dotAll, .dollarEndOnly]

        /// The option `RegexDefaultOptions` calls `name` (any case), as
        /// `ap_regcomp_default_cflag_by_name`; nil for an unknown one (`EXTENDED` too,
        /// whose flag is 0 in Apache and so reported unknown).
        public init?(name: String) {
            switch name.uppercased() {
            case "ICASE": self = .caseless
            case "DOTALL": self = .dotAll
            case "DOLLAR_ENDONLY": self = .dollarEndOnly
            default: return nil
            }
        }
    }

    /// The default options of the configuration being processed: Apache keeps them in a
    /// global that `RegexDefaultOptions` changes for the regexes compiled after it; Skep
    /// binds them to the processing of one configuration (`withDefaultOptions`), so
    /// configurations read side by side (tests, a restart's check) do not mix.
    public final class DefaultOptions: @unchecked Sendable {
        public var options: Options
        public init(_ options: Options = .apacheDefault) { self.options = options }
    }

    @TaskLocal public static var configurationDefaults: DefaultOptions?

    /// The options a regex compiled now gets by default.
    public static var defaultOptions: Options { configurationDefaults?.options ?? .apacheDefault }

    /// Runs `body` with `defaults` as the default options of every regex it compiles
    /// (the configuration processor for a whole file; a `.htaccess` reader with the
    /// server's final `ServerConfig.regexDefaultOptions`).
    public static func withDefaultOptions<R, E: Error>(_ defaults: DefaultOptions, _ body: () throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = $configurationDefaults.withValue(defaults) {
            do throws(E) { return .success(try body()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// A successful match: the subject and the byte ranges of `$0` (the whole match)
    /// and of each group, as Apache's `ap_regmatch_t` array.
    public struct Match: Sendable {
        /// The bytes that were matched.
        public let subjectBytes: [UInt8]
        /// The text that was matched (a byte that is not UTF-8 reads as U+FFFD).
        public var subject: String { String(decoding: subjectBytes, as: UTF8.self) }
        /// Start and end byte offsets per group, -1 for a group that took no part.
        let offsets: [Int]

        /// The number of groups recorded, `$0` included.
        public var count: Int { offsets.count / 2 }

        /// The byte range of group `n` in the subject's UTF-8, or nil when it took no part.
        public func range(_ n: Int) -> Range<Int>? {
            guard n >= 0, n < count else { return nil }
            let start = offsets[2 * n], end = offsets[2 * n + 1]
            guard start >= 0, end >= start else { return nil }
            return start..<end
        }
    }
}

/// One PCRE2 match-data block per thread, created on the thread's first match and freed
/// when the thread ends. It holds Apache's `AP_MAX_REG_MATCH` (10) pairs, `$0` to `$9`:
/// a pattern with more groups still matches (PCRE2 then fills the ten it has room for).
/// PCRE2 (10.41+) keeps the interpreter's backtracking frames in the match data too, so
/// after the first match on a thread a match allocates nothing.
enum ThreadMatchData {
    static let pairs: UInt32 = 10

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        _ = pthread_key_create(&key) { pcre2_match_data_free_8(OpaquePointer($0)) }
        return key
    }()

    static func current() -> OpaquePointer? {
        if let data = pthread_getspecific(key) { return OpaquePointer(data) }
        guard let data = pcre2_match_data_create_8(pairs, nil) else { return nil }
        _ = pthread_setspecific(key, UnsafeRawPointer(data))
        return data
    }
}
