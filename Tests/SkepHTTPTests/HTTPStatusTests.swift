import Testing
@testable import SkepHTTP

@Suite struct HTTPStatusTests {
    @Test func apachePhrases() {
        #expect(HTTPStatus.requestEntityTooLarge.description == "413 Request Entity Too Large")
        #expect(HTTPStatus.requestURITooLong.description == "414 Request-URI Too Long")
        #expect(HTTPStatus.rangeNotSatisfiable.description == "416 Requested Range Not Satisfiable")
        #expect(HTTPStatus.ok.description == "200 OK")
        #expect(HTTPStatus.notFound.reasonPhrase == "Not Found")
        #expect(HTTPStatus(code: 418).reasonPhrase == nil)  // not in Apache's table
        #expect(HTTPStatus(code: 425).reasonPhrase == nil)
        #expect(HTTPStatus(code: 451).reasonPhrase == "Unavailable For Legal Reasons")
    }

    @Test func appendsStatusText() {
        var b: [UInt8] = []
        HTTPStatus.partialContent.appendStatusText(to: &b)
        #expect(String(decoding: b, as: UTF8.self) == "206 Partial Content")
        b.removeAll()
        HTTPStatus(code: 299).appendStatusText(to: &b)
        #expect(String(decoding: b, as: UTF8.self) == "299 ")
    }
}
