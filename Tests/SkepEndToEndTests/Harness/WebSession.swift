import Foundation

/// One response as an application test sees it: the curl result and what the tests
/// compare between servers (status, `Location`, the page's `<title>`).
struct WebPage {
    let result: CurlResult
    /// The server's base URL (`http://127.0.0.1:PORT`), to take out of `Location`.
    let base: String

    var status: Int? { result.status }
    var body: String { result.bodyText }
    var bytes: [UInt8] { result.body }
    var location: String? { result.header("Location") }

    /// The first `<title>`'s text, whitespace collapsed; nil when the page has none.
    var title: String? {
        guard let open = body.range(of: "<title", options: .caseInsensitive),
              let tagEnd = body[open.upperBound...].firstIndex(of: ">"),
              let close = body[tagEnd...].range(of: "</title>", options: .caseInsensitive) else { return nil }
        return body[body.index(after: tagEnd)..<close.lowerBound]
            .split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
    }

    /// What is compared between servers, `Location` with this server's address made
    /// neutral (each server listens on its own port).
    func observation(_ step: String) -> PageObservation {
        PageObservation(step: step, status: status, location: location.map(neutral), title: title)
    }

    /// `text` with `http://127.0.0.1:PORT` (also percent-encoded, as in WordPress's
    /// `redirect_to=`) replaced by `http://SERVER`.
    func neutral(_ text: String) -> String {
        let encoded = base.replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: "/", with: "%2F")
        return text.replacingOccurrences(of: base, with: "http://SERVER")
            .replacingOccurrences(of: encoded, with: "http%3A%2F%2FSERVER")
    }

    /// The `value` of `<input ... name="NAME" ... value="...">` (first one; entities
    /// `&amp; &quot; &lt; &gt; &#039;` decoded), inside the form whose `id` is `formID`
    /// when given.
    func inputValue(_ name: String, formID: String? = nil) -> String? {
        HTMLForm.inputs(in: formID.flatMap { HTMLForm.form(id: $0, in: body) } ?? body)
            .first { $0.name == name }?.value
    }

    /// The hidden inputs of the form whose `id` is `formID`, in order.
    func hiddenFields(formID: String) -> [(name: String, value: String)] {
        guard let form = HTMLForm.form(id: formID, in: body) else { return [] }
        return HTMLForm.inputs(in: form).filter { $0.type == "hidden" }.map { ($0.name, $0.value) }
    }
}

/// What one step of an application test saw: compared, step by step, between Apache
/// (the oracle) and skep under each MPM.
struct PageObservation: Equatable, CustomStringConvertible {
    var step: String
    var status: Int?
    var location: String?
    var title: String?

    var description: String {
        "\(step): \(status.map(String.init) ?? "no response")"
            + (location.map { " Location: \($0)" } ?? "") + (title.map { " <title>\($0)</title>" } ?? "")
    }
}

/// A client that keeps cookies between requests (curl's cookie jar), as a browser
/// does for an application's session, and never follows redirects (the tests record
/// each `Location`).
final class WebSession {
    let port: UInt16
    private let directory: TemporaryDirectory
    private var jar: String { directory.path + "/cookies" }
    var base: String { "http://127.0.0.1:\(port)" }

    init(port: UInt16) throws {
        self.port = port
        directory = try TemporaryDirectory(prefix: "skep-web")
    }

    deinit { directory.remove() }

    /// GET `path` (from the root, with its query).
    func get(_ path: String, timeout: Duration = .seconds(30)) throws -> WebPage {
        try request(path, [], timeout: timeout)
    }

    /// POST `fields` as `application/x-www-form-urlencoded` (each value URL-encoded).
    func post(_ path: String, _ fields: [(String, String)], timeout: Duration = .seconds(30)) throws -> WebPage {
        try request(path, fields.flatMap { ["--data-urlencode", "\($0.0)=\($0.1)"] }, timeout: timeout)
    }

    private func request(_ path: String, _ arguments: [String], timeout: Duration) throws -> WebPage {
        let result = try Curl.run(["-b", jar, "-c", jar] + arguments + ["--globoff", base + path], timeout: timeout)
        guard result.exitCode == 0 else {
            throw HarnessError("curl \(base + path): exit \(result.exitCode): \(result.stderr)")
        }
        return WebPage(result: result, base: base)
    }
}

/// Takes an application's steps against one server: each request through one
/// `WebSession` (its cookies kept), what each saw recorded under the step's name.
final class StepRecorder {
    let web: WebSession
    /// The server, for messages ("skep worker").
    let label: String
    private(set) var seen: [PageObservation] = []

    init(port: UInt16, label: String) throws {
        web = try WebSession(port: port)
        self.label = label
    }

    func get(_ step: String, _ path: String) throws -> WebPage {
        record(step, try web.get(path))
    }

    func post(_ step: String, _ path: String, _ fields: [(String, String)]) throws -> WebPage {
        record(step, try web.post(path, fields))
    }

    private func record(_ step: String, _ page: WebPage) -> WebPage {
        seen.append(page.observation(step))
        return page
    }
}

/// Just enough HTML reading for the tests' forms: the text of one `<form>` and the
/// attributes of its `<input>` tags (double- or single-quoted values).
enum HTMLForm {
    struct Input {
        var name: String
        var type: String
        var value: String
    }

    /// The text from `<form ... id="ID"` to the next `</form>`.
    static func form(id: String, in html: String) -> String? {
        for quote in ["\"", "'"] {
            guard let idRange = html.range(of: "id=\(quote)\(id)\(quote)"),
                  let open = html[..<idRange.lowerBound].range(of: "<form", options: .backwards),
                  let close = html[idRange.upperBound...].range(of: "</form>") else { continue }
            return String(html[open.lowerBound..<close.upperBound])
        }
        return nil
    }

    /// Every `<input>` tag's name, type (lowercased, "text" when absent) and value.
    static func inputs(in html: String) -> [Input] {
        var found: [Input] = []
        var rest = html[...]
        while let open = rest.range(of: "<input", options: .caseInsensitive),
              let end = rest[open.upperBound...].firstIndex(of: ">") {
            let attributes = self.attributes(String(rest[open.upperBound..<end]))
            if let name = attributes["name"] {
                found.append(Input(name: name, type: attributes["type"]?.lowercased() ?? "text", value: attributes["value"] ?? ""))
            }
            rest = rest[rest.index(after: end)...]
        }
        return found
    }

    /// `name="value"` pairs of a tag's text (names lowercased, values entity-decoded).
    static func attributes(_ tag: String) -> [String: String] {
        var result: [String: String] = [:]
        var rest = tag[...]
        while let eq = rest.firstIndex(of: "=") {
            let name = rest[..<eq].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).last.map(String.init) ?? ""
            var after = rest[rest.index(after: eq)...]
            guard let quote = after.first, quote == "\"" || quote == "'" else {
                rest = after
                continue
            }
            after = after.dropFirst()
            guard let close = after.firstIndex(of: quote) else { break }
            if !name.isEmpty { result[name.lowercased()] = decodeEntities(String(after[..<close])) }
            rest = after[after.index(after: close)...]
        }
        return result
    }

    static func decodeEntities(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#039;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
