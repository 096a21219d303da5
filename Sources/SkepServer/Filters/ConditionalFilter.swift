import SkepHTTP

/// Conditional requests on a handler's own validators: a response that asks for it
/// (`Response.evaluatesConditions`: a FastCGI script's answer, as Apache's
/// `ap_scan_script_header_err` calls `ap_meets_conditions` for a GET answered 200) is
/// checked against `If-Match`, `If-None-Match`, `If-Modified-Since` and
/// `If-Unmodified-Since` with its `ETag` and `Last-Modified`, before any content
/// filter, and becomes a 304 or a 412. (The default handler checks its file itself.)
enum ConditionalFilter {
    static func filter(_ response: inout Response, _ r: Request, _ context: ServerContext) {
        guard response.evaluatesConditions, response.status == .ok, r.head.method == .get else { return }
        let etag = response.header("ETag").flatMap(EntityTag.init(parsing:))
        // Without a Last-Modified only the entity-tag conditions can hold: a date
        // condition compares with the time of the request, as Apache's `ap_meets_conditions`
        // does when `r->mtime` is unset.
        let lastModified = response.header("Last-Modified").flatMap { HTTPDate($0) }
            ?? HTTPDate(secondsSince1970: r.received.seconds)
        guard let failure = Conditional.evaluate(r, etag: etag, lastModified: lastModified) else { return }
        response.discard()
        if failure == .notModified {
            // The entity's own fields go; the validators and the rest stay (Apache's 304).
            let entity: Set<String> = ["content-type", "content-length", "content-encoding", "content-range", "transfer-encoding"]
            var notModified = Response(status: .notModified, headers: response.headers.filter { !entity.contains($0.name.lowercased()) })
            notModified.sendsBody = false
            notModified.isErrorResponse = true
            response = notModified
        } else {
            response = RequestProcessor(context: context).error(failure, r)
        }
    }
}
