import Foundation
import Skep

/// `SetHandler example-download`: sends the file the URL maps to (through `Alias` or
/// `DocumentRoot`) as an attachment, or the server's 404 page when there is none.
enum DownloadEndpoint {
    static func handle(_ request: Request, _ response: Response) throws {
        var isDirectory: ObjCBool = false
        guard let path = request.filename,
              FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return response.fail(404)
        }
        do {
            try response.sendFile(path)
        } catch {
            request.log(.warn, "cannot send \(path): \(error)")
            return response.fail(404)
        }
        let name = (path as NSString).lastPathComponent
        response.contentType = "application/octet-stream"
        response.setHeader("Content-Disposition", "attachment; filename=\"\(quoted(name))\"")
    }

    /// A file name made safe inside a quoted header parameter.
    static func quoted(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar -> Character in
            scalar == "\"" || scalar == "\\" || scalar.value < 0x20 || scalar.value > 0x7E ? "_" : Character(scalar)
        })
    }
}
