/// Apache's `check_header` for a response header field (strict `HttpProtocolOptions`, the
/// default): the name must be a non-empty token, the value field content (VCHAR,
/// obs-text, SP, HT). A value folded over lines (CRLF then SP or HT) is unfolded to one
/// space; any other control byte, a bare CR or LF above all, refuses the field. Apache
/// then logs AH02428/AH02429/AH02430 and answers 500 instead of the response: a header
/// built from what a client sent (a decoded `%0a` in a redirect's path) can never split
/// the response.
public enum ResponseField {
    public enum Problem: Error, Sendable, Equatable {
        case emptyName
        case invalidName
        case invalidValue
    }

    /// Checks `name: value`: nil when the field is sent as it is, the unfolded value when
    /// it was folded; throws the problem when the field cannot be sent.
    public static func check(name: String, value: String) throws(Problem) -> String? {
        guard !name.isEmpty else { throw .emptyName }
        guard name.utf8.allSatisfy(ByteClass.isToken) else { throw .invalidName }
        if value.utf8.allSatisfy(ByteClass.isFieldValue) { return nil }
        let bytes = Array(value.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if ByteClass.isFieldValue(b) {
                out.append(b)
                i += 1
                continue
            }
            // Only an obs-fold may interrupt field content: CR LF, then at least one blank.
            guard b == 0x0D, i + 2 < bytes.count, bytes[i + 1] == 0x0A, ByteClass.isBlank(bytes[i + 2]) else {
                throw .invalidValue
            }
            i += 3
            while i < bytes.count, ByteClass.isBlank(bytes[i]) { i += 1 }
            out.append(0x20)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `name: value` can be sent (unfolded if folded).
    public static func isSendable(name: String, value: String) -> Bool {
        do {
            _ = try check(name: name, value: value)
            return true
        } catch {
            return false
        }
    }

    /// Apache's error-log message for a refused field (the error log escapes it).
    public static func message(_ problem: Problem, name: String, value: String) -> String {
        switch problem {
        case .emptyName: return "AH02428: Empty response header name, aborting request"
        case .invalidName: return "AH02429: Response header name '\(name)' contains invalid characters, aborting request"
        case .invalidValue:
            return "AH02430: Response header '\(name)' value of '\(value)' contains invalid characters, aborting request"
        }
    }
}
