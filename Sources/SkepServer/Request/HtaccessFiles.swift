import SkepConfig
import SkepHTTP
import SkepSystem

/// The `.htaccess` files a child has read, each kept with the identity of the file
/// (device, inode, size, mtime, ctime) it was read from, so a file is read and parsed
/// once per change instead of once per request as Apache does; an edited file is read
/// again at the next request whose walk finds the new identity.
///
/// What a file says depends on where it is read (`AllowOverride` there), so each
/// processed form is kept by the permission it was processed under.
final class HtaccessFiles: @unchecked Sendable {
    /// What one file adds to its directory's configuration.
    struct Processed: Sendable {
        let directory: ConfigVector
        /// Its `<Files>` and `<FilesMatch>` sections.
        let files: [DirectorySection]
    }

    /// Why the request cannot go on: Apache answers 500 for what a file says and 403 for
    /// a file it cannot read, with a line in the error log.
    struct Failure: Error, Sendable {
        let status: HTTPStatus
        let level: LogLevel
        let message: String
    }

    private struct Entry {
        let identity: FileStatus
        let directives: Result<[Directive], Failure>
        var processed: [HtaccessPermission: Result<Processed, Failure>] = [:]
    }

    /// Files kept before the table starts afresh (it refills from requests).
    static let limit = 4096

    let modules: [ModuleDescriptor]
    let config: ServerConfig
    let errorLog: ErrorLog
    /// The child's file cache, through which the walk looks the files up.
    let fileCache: FileCache
    private let lock = Mutex()
    private var entries: [String: Entry] = [:]

    init(modules: [ModuleDescriptor], config: ServerConfig, errorLog: ErrorLog, fileCache: FileCache) {
        self.modules = modules
        self.config = config
        self.errorLog = errorLog
        self.fileCache = fileCache
    }

    /// What `processed` would answer, when it can answer without reading the file: for
    /// the event listener, which must not block.
    func known(_ path: String, status: FileStatus, permission: HtaccessPermission) -> Result<Processed, Failure>? {
        lock.withLock {
            guard let entry = entries[path], entry.identity.isSameVersion(as: status) else { return nil }
            return entry.processed[permission]
        }
    }

    /// A file the walk cannot read (`errno`): Apache's AH00529, and 403 "to be safe".
    func unreadable(_ path: String, _ directory: String, _ errno: Int32) -> Failure {
        Failure(status: .forbidden, level: .crit,
                message: "(\(errno))\(FileError(errno: errno).text): AH00529: \(path) pcfg_openfile: unable to check htaccess file, ensure it is readable and that '\(directory)' is executable")
    }

    /// What the file at `path` (whose status is `status`), read in `directory`, adds
    /// there under `permission`. Reads the file when it is new or changed: the caller
    /// must be allowed to block.
    func processed(_ path: String, in directory: String, status: FileStatus, permission: HtaccessPermission) -> Result<Processed, Failure> {
        let cached = lock.withLock { entries[path] }
        var entry: Entry
        if let cached, cached.identity.isSameVersion(as: status) {
            if let result = cached.processed[permission] { return result }
            entry = cached
        } else {
            entry = Entry(identity: status, directives: read(path, in: directory))
        }
        let result = entry.directives.flatMap { directives in process(directives, path, directory, permission) }
        entry.processed[permission] = result
        lock.withLock {
            if entries.count >= Self.limit { entries.removeAll(keepingCapacity: true) }
            entries[path] = entry
        }
        return result
    }

    private func read(_ path: String, in directory: String) -> Result<[Directive], Failure> {
        switch ConfigReader.text(of: path) {
        case .failure(let error):
            return .failure(unreadable(path, directory, error.errno))
        case .success(let text):
            do {
                return .success(try ConfigReader.readHtaccess(text: text, file: path, modules: modules, config: config))
            } catch {
                return .failure(Self.failure(path, error))
            }
        }
    }

    private func process(_ directives: [Directive], _ path: String, _ directory: String,
                         _ permission: HtaccessPermission) -> Result<Processed, Failure> {
        do {
            let result = try ConfigProcessor.processHtaccess(directives, path: directory, permission: permission,
                                                             modules: modules, config: config)
            for warning in result.warnings {
                errorLog.log(.warn, module: "core", "\(warning.location.map { "\($0.file):\($0.line): " } ?? "")\(warning.message)")
            }
            return .success(Processed(directory: result.directory, files: result.files))
        } catch {
            return .failure(Self.failure(path, error))
        }
    }

    /// Apache's alert, "file: message", with the line Skep knows added after the file name.
    private static func failure(_ path: String, _ error: ConfigError) -> Failure {
        let first = error.diagnostics.first
        let place = first?.location.map { "\($0.file):\($0.line)" } ?? path
        return Failure(status: .internalServerError, level: .alert, message: "\(place): \(first?.message ?? "could not be read")")
    }
}
