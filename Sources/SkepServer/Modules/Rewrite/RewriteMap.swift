import SkepConfig
import SkepSystem

/// One `RewriteMap` as configured: its type and what it reads. The file-backed and
/// program maps are objects, so every server that inherits a map shares its cache and its
/// helper process, as Apache's servers share the map entry.
enum RewriteMap: Sendable {
    case text(RewriteMapTextFile)
    case random(RewriteMapTextFile)
    case dbm(RewriteMapDBM)
    case function(RewriteMapFunction)
    case program(RewriteMapProgram)

    /// Parses `RewriteMap name type:source [user:group]` as Apache's `cmd_rewritemap`:
    /// the type prefix is case-insensitive, a source without a known prefix is a text
    /// file, and the map's file (the program for `prg:`) must exist. Errors carry
    /// Apache's wording.
    static func parse(_ d: Directive, serverRoot: String) throws(ConfigError) -> RewriteMap {
        let name = d.arguments[0], source = d.arguments[1]
        let lower = source.lowercased()
        func rest(_ prefix: String) -> String { String(source.dropFirst(prefix.count)) }
        func relative(_ path: String) -> String { ServerRoot.relative(path, to: serverRoot) }
        let map: RewriteMap
        let checkFiles: [String]
        if lower.hasPrefix("txt:") || lower.hasPrefix("rnd:") {
            let file = RewriteMapTextFile(path: relative(rest("txt:")))
            map = lower.hasPrefix("txt:") ? .text(file) : .random(file)
            checkFiles = [file.path]
        } else if lower.hasPrefix("dbm") {
            // `dbm:path` (the default type) or `dbm=type:path`.
            let after = source.dropFirst(3)
            let type: String, path: String
            if after.hasPrefix(":") {
                type = "default"
                path = String(after.dropFirst())
            } else if after.hasPrefix("="), let colon = after.firstIndex(of: ":") {
                type = String(after[after.index(after: after.startIndex)..<colon])
                path = String(after[after.index(after: colon)...])
            } else {
                throw d.error("RewriteMap: bad map:\(source)")
            }
            guard let dbm = RewriteMapDBM(type: type, path: relative(path)) else {
                throw d.error("RewriteMap: dbm type \(type) is invalid")
            }
            map = .dbm(dbm)
            checkFiles = [dbm.checkFiles.first ?? dbm.path]
        } else if lower.hasPrefix("dbd:") || lower.hasPrefix("fastdbd:") {
            // Apache's answer without mod_dbd, which Skep does not have.
            throw d.error("RewriteMap types dbd and fastdbd require mod_dbd! (Skep has no mod_dbd)")
        } else if lower.hasPrefix("prg:") {
            var arguments = RewriteMapProgram.tokenize(rest("prg:"))
            guard let program = arguments.first, !program.isEmpty else {
                throw d.error("RewriteMap: bad path to prg map: ")
            }
            arguments[0] = relative(program)
            var user: String?, group: String?
            if d.arguments.count == 3 {
                let parts = d.arguments[2].split(separator: ":", omittingEmptySubsequences: true)
                user = parts.first.map(String.init)
                group = parts.count > 1 ? String(parts[1]) : nil
            }
            map = .program(RewriteMapProgram(arguments: arguments, user: user, group: group, location: d.location))
            checkFiles = [arguments[0]]
        } else if lower.hasPrefix("int:") {
            guard let function = RewriteMapFunction(rawValue: rest("int:")) else {
                throw d.error("RewriteMap: internal map not found:\(rest("int:"))")
            }
            map = .function(function)
            checkFiles = []
        } else {
            let file = RewriteMapTextFile(path: relative(source))
            map = .text(file)
            checkFiles = [file.path]
        }
        if let file = checkFiles.first, !FileSystem.exists(file) {
            throw d.error("RewriteMap: file for map \(name) not found:\(file)")
        }
        return map
    }
}
