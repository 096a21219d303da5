import CLibCrypto
import SkepConfig
import SkepHTTP
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// One evaluation of an `ApExpr` for a request (Apache's `ap_expr_eval_ctx_t`): the
/// request, and the groups of the last `=~` whose pattern has groups, which `$0`...`$9`
/// read. Words are Swift strings: a short one lives inline, so most evaluations allocate
/// nothing beyond what a variable's value already is.
public struct ExprEvaluation {
    public let request: Request
    public let context: ServerContext
    /// The last successful `=~` with groups (`ctx->re_pmatch`), for `$N` and for the
    /// substitution `SetEnvIfExpr` does.
    public private(set) var match: PCRERegex.Match?
    /// Set when a function failed (`file()` on a missing file): Apache's `ctx->err`, the
    /// expression then counts as an error.
    public private(set) var failure: String?

    public init(_ request: Request, _ context: ServerContext) {
        self.request = request
        self.context = context
    }

    /// The condition's value; nil with `failure` set when evaluation failed.
    public mutating func evaluate(_ expression: ApExpr) -> Bool? {
        let result = condition(expression.root)
        return failure == nil ? result : nil
    }

    mutating func condition(_ c: ExprCondition) -> Bool {
        switch c {
        case .constant(let value): return value
        case .not(let inner): return !condition(inner)
        case .and(let a, let b): return condition(a) && condition(b)
        case .or(let a, let b): return condition(a) || condition(b)
        case .compare(let a, let op, let b):
            let left = word(a), right = word(b)
            switch op {
            case .intEQ: return Self.atoi64(left) == Self.atoi64(right)
            case .intNE: return Self.atoi64(left) != Self.atoi64(right)
            case .intLT: return Self.atoi64(left) < Self.atoi64(right)
            case .intLE: return Self.atoi64(left) <= Self.atoi64(right)
            case .intGT: return Self.atoi64(left) > Self.atoi64(right)
            case .intGE: return Self.atoi64(left) >= Self.atoi64(right)
            case .strEQ: return left == right
            case .strNE: return left != right
            case .strLT: return Self.compareBytes(left, right) < 0
            case .strLE: return Self.compareBytes(left, right) <= 0
            case .strGT: return Self.compareBytes(left, right) > 0
            case .strGE: return Self.compareBytes(left, right) >= 0
            }
        case .inList(let needle, let list):
            let value = word(needle)
            for item in list where word(item) == value { return true }
            return false
        case .match(let subject, let regex, let negated):
            let text = word(subject)
            let matched: Bool
            if regex.captureCount > 0 {
                // As Apache: `$0`...`$9` change only for a pattern with groups, and a
                // failed match clears them.
                match = regex.firstMatch(in: text)
                matched = match != nil
            } else {
                matched = regex.matches(text)
            }
            return matched != negated
        case .unary(let op, let argument):
            return unary(op, word(argument))
        case .binary(let op, let a, let b):
            let left = word(a), right = word(b)
            switch op {
            case .ipMatch(let subnet):
                guard let address = SocketAddress(ip: left, port: 0) else { return false }
                return subnet.contains(bytes: IPMatch.bytes(address))
            case .strMatch: return Wildcard.matches(pattern: right, left, flags: 0)
            case .strCaseMatch: return Wildcard.matches(pattern: right, left, flags: Wildcard.caseFold)
            case .fnMatch: return Wildcard.matches(pattern: right, left, flags: FNM_PATHNAME)
            }
        }
    }

    mutating func unary(_ op: ExprUnaryOperator, _ argument: String) -> Bool {
        switch op {
        case .nonEmpty: return !argument.isEmpty
        case .empty: return argument.isEmpty
        case .isTrue:
            // Apache's `-T`: false for "", "0", and off/no/false in any case.
            switch argument.lowercased() {
            case "", "0", "off", "no", "false": return false
            default: return true
            }
        case .remoteIn(let subnet): return subnet.contains(request.client)
        case .directory: return status(argument)?.isDirectory ?? false
        case .exists: return status(argument) != nil
        case .regularFile: return status(argument)?.isRegularFile ?? false
        case .nonEmptyFile: return status(argument).map { $0.isRegularFile && $0.size > 0 } ?? false
        case .symbolicLink: return status(argument, followSymlinks: false)?.isSymbolicLink ?? false
        case .executable: return status(argument).map { $0.permissions & 0o111 != 0 } ?? false
        }
    }

    /// A file's status through the request's lookup (the file cache; on the event
    /// listener an unknown path hands the request to a worker).
    func status(_ path: String, followSymlinks: Bool = true) -> FileStatus? {
        guard !path.isEmpty else { return nil }
        return (try? request.lookUp(path, followSymlinks: followSymlinks, in: context.fileCache)) ?? nil
    }

    mutating func word(_ w: ExprWord) -> String {
        switch w {
        case .literal(let text): return text
        case .variable(let variable): return value(of: variable)
        case .backreference(let n):
            guard let match, let range = match.range(n), !range.isEmpty else { return "" }
            guard range.upperBound <= match.subjectBytes.count else { return "" }
            return String(decoding: match.subjectBytes[range], as: UTF8.self)
        case .function(let function, let argument):
            return call(function, word(argument))
        case .concat(let parts):
            var out = ""
            for part in parts { out += word(part) }
            return out
        }
    }

    mutating func call(_ function: ExprFunction, _ argument: String) -> String {
        let r = request
        switch function {
        case .req:
            // Apache leaves `Host` out of `Vary` (RFC 7231 7.1.4).
            if argument.lowercased() != "host" { r.noteVary(argument) }
            return r.header(argument) ?? ""
        case .reqNoVary: return r.header(argument) ?? ""
        case .resp: return ""
        case .reqenv: return r.environment[argument] ?? ""
        case .note: return r.notes[argument] ?? ""
        case .env: return r.notes[argument] ?? r.environment[argument] ?? Self.osenv(argument)
        case .osenv: return Self.osenv(argument)
        case .tolower: return String(decoding: argument.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        case .toupper: return String(decoding: argument.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 & ~0x20 : $0 }, as: UTF8.self)
        case .escape: return PathEscaping.escape(argument)
        case .unescape: return ExprCoding.unescape(argument) ?? ""
        case .base64: return ExprCoding.base64(Array(argument.utf8))
        case .unbase64: return String(decoding: ExprCoding.unbase64(argument), as: UTF8.self)
        case .md5: return Self.digest(argument, EVP_md5())
        case .sha1: return Self.digest(argument, EVP_sha1())
        case .file: return readFile(argument)
        case .filesize:
            guard let st = status(argument), st.isRegularFile, st.size > 0 else { return "0" }
            return String(st.size)
        }
    }

    /// `file()`: the whole file (at most 10 MiB, Apache's limit), or a failure.
    mutating func readFile(_ path: String) -> String {
        if let run = request.listenerRun {
            // Reading may block: a worker runs the request again.
            run.blocked = true
            return ""
        }
        guard let file = try? File.openForReading(path) else {
            failure = "Cannot open file \(path)"
            return ""
        }
        defer { file.close() }
        guard let size = try? file.status().size, size <= 10 * 1024 * 1024 else {
            failure = "File \(path) too large"
            return ""
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))  // trap-safe: 0...10 MiB, checked above
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer in
                (try? file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))) ?? -1
            }
            guard n > 0 else { break }
            filled += n
        }
        guard filled == bytes.count else {
            failure = "Cannot read from file \(path)"
            return ""
        }
        // Apache's result is a C string: it ends at the first NUL.
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func osenv(_ name: String) -> String { getenv(name).map { String(cString: $0) } ?? "" }

    /// A hex digest through OpenSSL's EVP interface.
    static func digest(_ text: String, _ md: OpaquePointer?) -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))  // trap-safe: a small constant (64)
        var length: UInt32 = 0
        var text = text
        let ok = text.withUTF8 { bytes in EVP_Digest(bytes.baseAddress, bytes.count, &out, &length, md, nil) }
        guard ok == 1 else { return "" }
        return ExprCoding.hex(out.prefix(Int(length)))  // trap-safe: UInt32 widens to Int
    }

    /// `apr_atoi64`: optional blanks and sign, then digits as far as they go; 0 when none,
    /// and the limits on overflow (`strtoll`).
    static func atoi64(_ s: String) -> Int64 { strtoll(s, nil, 10) }

    /// `strcmp`: bytes compared unsigned.
    static func compareBytes(_ a: String, _ b: String) -> Int {
        for (x, y) in zip(a.utf8, b.utf8) where x != y { return x < y ? -1 : 1 }
        let (m, n) = (a.utf8.count, b.utf8.count)
        return m == n ? 0 : (m < n ? -1 : 1)
    }

    /// A request header for a `%{HTTP_*}` variable, noted for `Vary`.
    func header(_ name: String) -> String {
        request.noteVary(name)
        return request.header(name) ?? ""
    }

    /// The value of a `%{NAME}` variable, as util_expr_eval.c's tables give it.
    func value(of variable: ExprVariable) -> String {
        let r = request
        switch variable {
        case .HTTP_USER_AGENT: return header("User-Agent")
        case .HTTP_PROXY_CONNECTION: return header("Proxy-Connection")
        case .HTTP_REFERER: return header("Referer")
        case .HTTP_COOKIE: return header("Cookie")
        case .HTTP_FORWARDED: return header("Forwarded")
        case .HTTP_HOST: return r.header("Host") ?? ""
        case .HTTP_ACCEPT: return header("Accept")
        case .REQUEST_METHOD: return r.method
        case .REQUEST_SCHEME: return r.scheme
        case .REQUEST_URI: return r.uri
        case .REQUEST_FILENAME, .SCRIPT_FILENAME: return r.filename ?? ""
        case .REMOTE_HOST, .REMOTE_ADDR: return r.client.host
        case .CONN_REMOTE_ADDR: return r.peer.host
        case .REMOTE_IDENT, .AUTH_TYPE, .REQUEST_LOG_ID, .CONN_LOG_ID, .CONTEXT_PREFIX: return ""
        case .REMOTE_USER: return r.user ?? ""
        case .SERVER_ADMIN: return r.serverConfig(CoreServerConfig.self).serverAdmin ?? ""
        case .SERVER_NAME: return r.serverNameForURL
        case .SERVER_PORT: return String(r.serverPortForURL)
        case .SERVER_PROTOCOL: return r.protocolName
        case .PATH_INFO: return r.pathInfo
        case .QUERY_STRING: return r.query ?? ""
        case .IS_SUBREQ: return "false"
        case .DOCUMENT_ROOT, .CONTEXT_DOCUMENT_ROOT:
            return r.serverConfig(CoreServerConfig.self).documentRoot ?? context.config.serverRoot + "/htdocs"
        case .THE_REQUEST: return r.requestLine
        case .CONTENT_TYPE: return r.contentType ?? ""
        case .HANDLER: return r.handler ?? ""
        case .SCRIPT_USER: return r.fileStatus.flatMap { Self.userName($0.userID) } ?? ""
        case .SCRIPT_GROUP: return r.fileStatus.flatMap { Self.groupName($0.groupID) } ?? ""
        case .DOCUMENT_URI: return r.environment["DOCUMENT_URI"] ?? r.uri
        case .LAST_MODIFIED: return Self.timeString(0, .full)  // `r->mtime` is not set before the handler
        case .REQUEST_STATUS: return "200"
        case .REMOTE_PORT: return String(r.client.port)
        case .HTTPS: return r.tls == nil ? "off" : "on"
        case .HTTP2: return "off"
        case .IPV6:
            let host = r.client.host
            return host.contains(":") && !host.hasPrefix("::ffff:") ? "on" : "off"
        case .TIME_YEAR: return Self.timeString(SystemClock.now().seconds, .year)
        case .TIME_MON: return Self.timeString(SystemClock.now().seconds, .month)
        case .TIME_DAY: return Self.timeString(SystemClock.now().seconds, .day)
        case .TIME_HOUR: return Self.timeString(SystemClock.now().seconds, .hour)
        case .TIME_MIN: return Self.timeString(SystemClock.now().seconds, .minute)
        case .TIME_SEC: return Self.timeString(SystemClock.now().seconds, .second)
        case .TIME_WDAY: return Self.timeString(SystemClock.now().seconds, .weekday)
        case .TIME: return Self.timeString(SystemClock.now().seconds, .full)
        case .SERVER_SOFTWARE: return context.serverBanner
        case .API_VERSION: return "20120211"
        }
    }

    enum TimePart { case year, month, day, hour, minute, second, weekday, full }

    /// A part of the local time, formatted as Apache's `misc_var_fn`.
    static func timeString(_ seconds: Int64, _ part: TimePart) -> String {
        var t = time_t(seconds)  // trap-safe: time_t is Int64 on Linux
        var tm = Glibc.tm()
        guard localtime_r(&t, &tm) != nil else { return "" }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = String(tm.tm_year + 1900)
        switch part {
        case .year: return year
        case .month: return two(tm.tm_mon + 1)
        case .day: return two(tm.tm_mday)
        case .hour: return two(tm.tm_hour)
        case .minute: return two(tm.tm_min)
        case .second: return two(tm.tm_sec)
        case .weekday: return String(tm.tm_wday)
        case .full: return year + two(tm.tm_mon + 1) + two(tm.tm_mday) + two(tm.tm_hour) + two(tm.tm_min) + two(tm.tm_sec)
        }
    }

    static func userName(_ uid: uid_t) -> String? {
        var entry = passwd(), result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 1024)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }

    static func groupName(_ gid: gid_t) -> String? {
        var entry = group(), result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 1024)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.gr_name else { return nil }
        return String(cString: name)
    }
}

extension ApStringExpr {
    /// The string for `r`: nil when evaluation failed (`file()` on a missing file).
    public func evaluate(_ r: Request, _ context: ServerContext) -> String? {
        var evaluation = ExprEvaluation(r, context)
        let value = evaluation.word(word)
        return evaluation.failure == nil ? value : nil
    }
}

extension ApExpr {
    /// Evaluates the condition for `r`: nil when evaluation failed (Apache logs the
    /// failure and answers 500 for `<If>` and `Require expr`).
    public func evaluate(_ r: Request, _ context: ServerContext) -> Bool? {
        var evaluation = ExprEvaluation(r, context)
        return evaluation.evaluate(self)
    }
}
