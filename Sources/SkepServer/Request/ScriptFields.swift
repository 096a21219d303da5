/// Where Apache's `ap_scan_script_header_err` files a CGI or FastCGI script's fields:
/// the ones the server itself interprets in `r->headers_out`, every other (`Cache-Control`,
/// `X-Powered-By`, `Set-Cookie`...) in `r->err_headers_out`, which is why a `Header set`
/// without `always` adds a second field beside a script's instead of replacing it.
public enum ScriptFields {
    static let headersOut: Set<String> = ["location", "content-length", "content-range", "transfer-encoding", "etag", "last-modified", "content-type"]

    public static func inHeadersOut(_ name: String) -> Bool { headersOut.contains(name.lowercased()) }
}
