import SkepConfig

/// Apache's `do_headers_fixup`: runs a list of entries, in order, on one table.
enum HeadersFixup {
    /// Which entries of a list run: the `early` ones in post-read-request, the others later.
    enum Pass { case early, late }

    /// Apache's three tables for one request.
    struct Tables {
        /// `headers_in`.
        var request = HeaderFields()
        /// `headers_out`, where `echo` copies request fields (even from a `Header always`
        /// line, as Apache does).
        var out = HeaderFields()
        /// `err_headers_out`.
        var err = HeaderFields()

        /// A response's two tables: its first `errorTableCount` fields are `err_headers_out`.
        init(_ response: Response) {
            let split = min(max(response.errorTableCount, 0), response.headers.count)
            err = HeaderFields(Array(response.headers[..<split]))
            out = HeaderFields(Array(response.headers[split...]))
        }

        init(request: HeaderFields) { self.request = request }

        /// Both tables back into `response`, `err_headers_out` first as Apache sends them.
        func store(in response: inout Response) {
            response.headers = err.fields + out.fields
            response.errorTableCount = err.fields.count
        }
    }

    /// Applies `entries` to the table at `which`.
    static func run(_ entries: [HeaderEntry], on which: WritableKeyPath<Tables, HeaderFields>, _ tables: inout Tables,
                    pass: Pass, _ r: Request, _ context: ServerContext) {
        for entry in entries {
            guard entry.isEarly == (pass == .early), applies(entry, r, context) else { continue }
            let name = entry.header
            if case .echo(let regex) = entry.action {
                for (field, value) in r.headerFields where regex.matches(field) { tables.out.add(field, value) }
                continue
            }
            var table = tables[keyPath: which]
            defer { tables[keyPath: which] = table }
            switch entry.action {
            case .add: table.add(name, entry.value.produce(r, context))
            case .append: table.merge(name, entry.value.produce(r, context))
            case .merge: table.mergeToken(name, entry.value.produce(r, context))
            case .set: table.set(name, entry.value.produce(r, context))
            case .setIfEmpty:
                if table.get(name) == nil { table.set(name, entry.value.produce(r, context)) }
            case .unset: table.unset(name)
            case .echo: break
            case .edit(let regex, let all):
                let values = table.fields.filter { HeaderFields.same($0.name, name) }
                guard !values.isEmpty else { continue }
                let replacement = entry.value.produce(r, context)
                table.unset(name)
                for (field, value) in values { table.add(field, edit(value, regex, replacement, all: all)) }
            case .note:
                r.notes[entry.value.produce(r, context)] = table.get(name)
            }
        }
    }

    /// Whether an entry's condition holds. An expression that fails to evaluate lets the
    /// entry apply, as Apache's (it logs the failure and goes on).
    static func applies(_ entry: HeaderEntry, _ r: Request, _ context: ServerContext) -> Bool {
        switch entry.condition {
        case .always, .early: return true
        case .environment(let name, let negated): return (r.environment[name] != nil) != negated
        case .expression(let expression):
            var evaluation = ExprEvaluation(r, context)
            return evaluation.evaluate(expression) != false
        }
    }

    /// Apache's `process_regexp`: the first match replaced (`$0`-`$9` from it), or with
    /// `all` every match, stepping past an empty match as PCRE2's global substitution does.
    static func edit(_ value: String, _ regex: PCRERegex, _ replacement: String, all: Bool) -> String {
        guard let first = regex.firstMatch(in: value), let whole = first.range(0) else { return value }
        let bytes = Array(value.utf8)
        var out: [UInt8] = []
        var offset = 0
        func push(_ m: PCRERegex.Match, _ range: Range<Int>) {
            if range.lowerBound > offset, range.lowerBound <= bytes.count { out += bytes[offset..<range.lowerBound] }
            out += Array(m.substitute(replacement).utf8)
            offset = min(range.upperBound, bytes.count)
        }
        push(first, whole)
        if all {
            var matchStart = whole.lowerBound
            while offset < bytes.count {
                let retry = matchStart == offset
                if let next = regex.firstMatch(in: value, from: offset, nonEmptyAnchored: retry), let range = next.range(0),
                   range.lowerBound >= offset {
                    push(next, range)
                    matchStart = range.lowerBound
                    continue
                }
                guard retry else { break }
                // No non-empty match here: keep one byte and look again after it.
                out.append(bytes[offset])
                offset += 1
                matchStart = -1
            }
        }
        if offset < bytes.count { out += bytes[offset...] }
        return String(decoding: out, as: UTF8.self)
    }
}
