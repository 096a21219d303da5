import SkepHTTP

/// Apache's built-in error documents (`ap_send_error_response` and its canned texts),
/// so that clients and tests that look at error bodies see what Apache sends.
public enum ErrorPages {
    /// The HTML body for `status`; `signature` is the `<address>` line of ServerSignature;
    /// `note` is Apache's `error-notes` (plain text Skep wrote), shown in a 400 page;
    /// `serverAdmin` is `ServerAdmin` (Apache's compiled default when unset), in a 500 page.
    public static func body(_ status: HTTPStatus, method: String, location: String? = nil, signature: String?,
                            note: String? = nil, serverAdmin: String = "[no address given]") -> String {
        let title = "\(status.code) \(status.reasonPhrase ?? "")"
        var text = """
            <!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
            <html><head>
            <title>\(title)</title>
            </head><body>
            <h1>\(status.reasonPhrase ?? "")</h1>

            """
        text += message(status, method: escape(method), location: location.map(escape), note: note, serverAdmin: escape(serverAdmin))
        if let signature { text += "<hr>\n" + signature }
        text += "</body></html>\n"
        return text
    }

    static func message(_ status: HTTPStatus, method: String, location: String?, note: String? = nil,
                        serverAdmin: String = "[no address given]") -> String {
        switch status.code {
        case 301, 302, 307, 308:
            return "<p>The document has moved <a href=\"\(location ?? "")\">here</a>.</p>\n"
        case 303:
            return "<p>The answer to your request is located <a href=\"\(location ?? "")\">here</a>.</p>\n"
        case 400:
            return "<p>Your browser sent a request that this server could not understand.<br />\n\(note ?? "")</p>\n"
        case 401:
            return "<p>This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required.</p>\n"
        case 403:
            return "<p>You don't have permission to access this resource.</p>\n"
        case 404:
            return "<p>The requested URL was not found on this server.</p>\n"
        case 300:
            // mod_negotiation's variant list is the whole text.
            return note ?? ""
        case 406:
            return "<p>An appropriate representation of the requested resource could not be found on this server.</p>\n\(note ?? "")"
        case 405:
            return "<p>The requested method \(method) is not allowed for this URL.</p>\n"
        case 410:
            return "<p>The requested resource is no longer available on this server and there is no forwarding address.\nPlease remove all references to this resource.</p>\n"
        case 408:
            return "<p>Server timeout waiting for the HTTP request from the client.</p>\n"
        case 411:
            return "<p>A request of the requested method \(method) requires a valid Content-length.<br />\n</p>\n"
        case 412:
            return "<p>The precondition on the request for this URL evaluated to false.</p>\n"
        case 413:
            return "The requested resource does not allow request data with \(method) requests, or the amount of data provided in\nthe request exceeds the capacity limit.\n"
        case 414:
            return "<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n</p>\n"
        case 416:
            return "<p>None of the range-specifier values in the Range\nrequest-header field overlap the current extent\nof the selected resource.</p>\n"
        case 417:
            return "<p>The expectation given in the Expect request-header\nfield could not be met by this server.\n</p><p>Only the 100-continue expectation is supported.</p>\n"
        case 501:
            return "<p>\(method) not supported for current URL.<br />\n</p>\n"
        case 506:
            // Apache's text leaves the <pre> block empty.
            return "<p>A variant for the requested resource\n<pre>\n\n</pre>\nis itself a negotiable resource. This indicates a configuration error.</p>\n"
        case 502:
            return "<p>The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\n</p>\n"
        case 503:
            return "<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.</p>\n"
        case 504:
            return "<p>The gateway did not receive a timely response\nfrom the upstream server or application.</p>\n"
        default:
            return "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n<p>Please contact the server administrator at \n \(serverAdmin) to inform them of the time this error occurred,\n and the actions you performed just before this error.</p>\n<p>More information about this error may be available\nin the server error log.</p>\n"
        }
    }

    /// `ap_escape_html`.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
