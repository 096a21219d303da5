import SkepHTTP
import SkepSystem

/// Apache's BYTERANGE protocol filter: a `Range` request answered `200` with a body of
/// known length becomes a `206` of that body's ranges (one range, or
/// `multipart/byteranges`), or `416`. It runs after the content filters, so a range of
/// a compressed answer is a range of the compressed bytes, as in Apache.
enum ByteRangeFilter {
    static func filter(_ response: inout Response, _ r: Request, _ context: ServerContext) {
        // As `ap_set_byterange`: a 200 with a `bytes=` Range, not already ranged.
        guard response.status == .ok, !response.isProgressive, let header = r.header("Range"),
              header.utf8.count >= 6, header.prefix(6).lowercased() == "bytes=",
              response.header("Content-Range") == nil,
              response.header("Content-Type")?.lowercased().hasPrefix("multipart/byteranges") != true else { return }
        // Only a body whose length is known now (a streamed or progressive one passes, as
        // Apache's filter passes a brigade without its EOS).
        let size: Int64
        switch response.body {
        case .bytes, .file, .empty: size = response.contentLength
        case .parts, .stream: return
        }
        guard size > 0, ifRangeMatches(r, response) else { return }
        var decision = ByteRanges.evaluate(header, size: size)
        let type = response.header("Content-Type")
        if case .ranges(let list) = decision, list.count > 1, !multipartFits(list, type: type) { decision = .ignored }
        switch decision {
        case .ignored:
            return
        case .unsatisfiable:
            response.discard()
            var error = RequestProcessor(context: context).error(.rangeNotSatisfiable, r)
            error.headers.insert(("Content-Range", "bytes */\(size)"), at: 0)
            response = error
        case .ranges(let list) where list.count == 1:
            let range = list[0]
            let length = range.upperBound - range.lowerBound + 1
            response.status = .partialContent
            insertBeforeType(&response, ("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"))
            response.body = slice(response.body, offset: range.lowerBound, length: length)
        case .ranges(let list):
            let boundary = multipartBoundary(r)
            var parts: [ResponseOutput.Part] = []
            var total: Int64 = 0
            for (index, range) in list.enumerated() {
                var head = index == 0 ? "\r\n" : ""
                head += "--\(boundary)\r\n"
                if let type { head += "Content-Type: \(type)\r\n" }
                head += "Content-Range: bytes \(range.lowerBound)-\(range.upperBound)/\(size)\r\n\r\n"
                let length = range.upperBound - range.lowerBound + 1
                parts.append(.bytes(Array(head.utf8)))
                if case .body(let part) = slicePart(response.body, offset: range.lowerBound, length: length) { parts.append(part) }
                parts.append(.bytes(Array("\r\n".utf8)))
                // In range: `multipartFits` bounded the sum.
                total += Int64(head.utf8.count) + length + 2  // trap-safe: bounded by multipartFits
            }
            let tail = Array("--\(boundary)--\r\n".utf8)
            parts.append(.bytes(tail))
            total += Int64(tail.count)  // trap-safe: bounded by multipartFits
            response.status = .partialContent
            response.headers.removeAll { ResponseHead.isContentType($0.name) }
            response.headers.append(("Content-Type", "multipart/byteranges; boundary=\(boundary)"))
            switch response.body {
            case .empty: response.body = .empty(length: total)
            case .file(let fd, _, _): response.body = .parts(parts, owning: [fd])
            default: response.body = .parts(parts, owning: [])
            }
        }
    }

    /// `If-Range` (Apache's `ap_condition_if_range` on the answer's own fields): a strong
    /// ETag match or the exact Last-Modified date; otherwise the whole body is sent.
    static func ifRangeMatches(_ r: Request, _ response: Response) -> Bool {
        guard let ifRange = r.header("If-Range") else { return true }
        if ifRange.hasPrefix("\"") || ifRange.hasPrefix("W/") {
            guard let etag = response.header("ETag").flatMap(EntityTag.init(parsing:)),
                  let tag = EntityTag(parsing: ifRange) else { return false }
            return tag.matches(etag, .strong)
        }
        guard let date = HTTPDate(ifRange), let field = response.header("Last-Modified"), let lastModified = HTTPDate(field) else { return false }
        return date == lastModified
    }

    /// Content-Range goes where Apache puts it, before Content-Type (order is cosmetic).
    private static func insertBeforeType(_ response: inout Response, _ field: (name: String, value: String)) {
        let at = response.headers.firstIndex { ResponseHead.isContentType($0.name) } ?? response.headers.endIndex
        response.headers.insert(field, at: at)
    }

    private enum Slice { case body(ResponseOutput.Part), none }

    private static func slicePart(_ body: Response.Body, offset: Int64, length: Int64) -> Slice {
        switch body {
        // In bounds: ByteRanges keeps every range within the body's length.
        case .bytes(let b): return .body(.bytes(Array(b[Int(offset)..<Int(offset + length)])))  // trap-safe: ranges lie within the body (ByteRanges.evaluate)
        case .file(let fd, let start, _): return .body(.file(fd, offset: start + offset, length: length))
        default: return .none
        }
    }

    private static func slice(_ body: Response.Body, offset: Int64, length: Int64) -> Response.Body {
        switch body {
        case .bytes(let b): return .bytes(Array(b[Int(offset)..<Int(offset + length)]))  // trap-safe: ranges lie within the body (ByteRanges.evaluate)
        case .file(let fd, let start, _): return .file(fd, offset: start + offset, length: length)
        default: return .empty(length: length)
        }
    }

    /// Whether a `multipart/byteranges` answer of `ranges` has a length `Int64` holds:
    /// each part adds its boundary and fields (under 160 bytes besides the type) to its
    /// bytes. Only ranges of a sparse file within a few KiB of 8 EiB fail, and the body is
    /// then sent whole: Apache ignores a Range it cannot honour.
    static func multipartFits(_ ranges: [ClosedRange<Int64>], type: String?) -> Bool {
        let perPart = Int64(160 + (type?.utf8.count ?? 0))  // trap-safe: Int to Int64 widens
        var total = perPart  // the closing boundary
        for range in ranges {
            // upperBound - lowerBound cannot overflow: 0 <= lowerBound <= upperBound.
            let (withPart, o1) = total.addingReportingOverflow(range.upperBound - range.lowerBound + 1)
            let (withFields, o2) = withPart.addingReportingOverflow(perPart)
            if o1 || o2 { return false }
            total = withFields
        }
        return true
    }

    /// A boundary that differs between files, changes and requests, as Apache's (hex of
    /// the request time and the file's identity), always 16 digits: a HEAD and a GET of
    /// the same ranges announce the same `Content-Length`.
    static func multipartBoundary(_ r: Request) -> String {
        let seed = UInt64(bitPattern: r.received.microseconds)
        let file = r.fileStatus.map { UInt64(bitPattern: $0.modificationTime.microseconds) ^ $0.inode } ?? 0
        let hex = String((seed ^ file) &* 0x9E37_79B9_7F4A_7C15, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
