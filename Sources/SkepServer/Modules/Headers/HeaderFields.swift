import SkepConfig

/// Header fields in order with Apache's `apr_table_t` operations (names compared without
/// regard to case): the table mod_headers' actions change.
public struct HeaderFields: Sendable {
    public var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    /// Request fields as Apache's `headers_in` holds them: a repeated field's values
    /// joined with ", " into its first occurrence.
    public static func merged(_ fields: [(name: String, value: String)]) -> HeaderFields {
        var table = HeaderFields()
        for (name, value) in fields { table.merge(name, value) }
        return table
    }

    public func get(_ name: String) -> String? {
        fields.first { Self.same($0.name, name) }?.value
    }

    /// `apr_table_setn`: the first field of that name takes the value, the others go.
    public mutating func set(_ name: String, _ value: String) {
        guard let first = fields.firstIndex(where: { Self.same($0.name, name) }) else { return add(name, value) }
        fields[first].value = value
        var i = fields.index(after: first)
        while i < fields.endIndex {
            if Self.same(fields[i].name, name) { fields.remove(at: i) } else { i += 1 }
        }
    }

    /// `apr_table_addn`: one more field, after the others.
    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// `apr_table_mergen`: ", value" after the first field's value, or a new field.
    public mutating func merge(_ name: String, _ value: String) {
        guard let first = fields.firstIndex(where: { Self.same($0.name, name) }) else { return add(name, value) }
        fields[first].value += ", " + value
    }

    /// `apr_table_unset`: every field of that name goes.
    public mutating func unset(_ name: String) {
        fields.removeAll { Self.same($0.name, name) }
    }

    /// mod_headers' `merge`: appends `value` unless it already is one of the
    /// comma-separated tokens (a quoted string counts as one token, compared exactly).
    public mutating func mergeToken(_ name: String, _ value: String) {
        guard let existing = get(name) else { return add(name, value) }
        if !Self.tokens(of: existing).contains(value) { merge(name, value) }
    }

    /// The comma-separated tokens of `value` as Apache's merge reads them: leading
    /// blanks skipped, trailing ones kept, commas inside double quotes not separators.
    static func tokens(of value: String) -> [String] {
        var tokens: [String] = []
        var bytes = Array(value.utf8)[...]
        while !bytes.isEmpty {
            while let b = bytes.first, b == 32 || (9...13).contains(b) { bytes.removeFirst() }
            var token: [UInt8] = []
            while let b = bytes.first, b != UInt8(ascii: ",") {
                token.append(b)
                bytes.removeFirst()
                if b == UInt8(ascii: "\"") {
                    while let q = bytes.popFirst() {
                        token.append(q)
                        if q == UInt8(ascii: "\"") { break }
                    }
                }
            }
            tokens.append(String(decoding: token, as: UTF8.self))
            if !bytes.isEmpty { bytes.removeFirst() }
        }
        return tokens
    }

    static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.lowercased() == b.lowercased()
    }
}
