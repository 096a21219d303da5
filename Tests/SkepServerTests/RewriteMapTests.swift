import Foundation
import SkepConfig
@testable import SkepServer
import SkepSystem
import SkepTestSupport
import Testing

/// mod_rewrite's maps alone, without the rule engine: the `RewriteMap` directive, each
/// map type's lookups on real files and programs, caching, inheritance by virtual hosts.
@Suite struct RewriteMapTests {
    /// mod_rewrite's descriptor as far as the maps go (the rule engine adds the rest).
    static let module = ModuleDescriptor(name: "rewrite_module", sourceName: "mod_rewrite.c", directives: RewriteMaps.directives)

    static func config(_ text: String, serverRoot: String = "/tmp") throws -> ServerConfig {
        let modules = CoreModule.all + [module]
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: serverRoot))
        let tree = try reader.read(text: "LoadModule rewrite_module mod_rewrite.so\n" + text, name: "test.conf")
        var config = try ConfigProcessor.process(tree, modules: modules, configFile: "test.conf")
        config.main.server[CoreServerConfig.self].errorLog = "/dev/null"
        return config
    }

    /// `${name:key}` for a request to the main server (or to the virtual host `vhost`).
    static func lookup(_ config: ServerConfig, _ name: String, _ key: String, vhost: Int? = nil, onListener: Bool = false) throws -> (String?, blocked: Bool) {
        let context = try ServerContext(config: config, moduleTypes: [])
        let server = vhost.map { config.virtualHosts[$0] } ?? config.main
        return try withRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n", server: server) { r in
            if onListener { r.listenerRun = ListenerRun() }
            let value = RewriteMaps.lookup(name, key: key, r, context)
            return (value, r.wouldBlock)
        }
    }

    static func value(_ config: ServerConfig, _ name: String, _ key: String, vhost: Int? = nil) throws -> String? {
        try lookup(config, name, key, vhost: vhost).0
    }

    // MARK: - The directive

    @Test(arguments: [
        ("RewriteMap m int:nosuch", "test.conf:2: RewriteMap: internal map not found:nosuch (RewriteMap m int:nosuch)"),
        ("RewriteMap m int:ToLower", "test.conf:2: RewriteMap: internal map not found:ToLower (RewriteMap m int:ToLower)"),
        ("RewriteMap m txt:/nonexistent/map.txt", "test.conf:2: RewriteMap: file for map m not found:/nonexistent/map.txt (RewriteMap m txt:/nonexistent/map.txt)"),
        ("RewriteMap m rnd:missing.txt", "test.conf:2: RewriteMap: file for map m not found:/tmp/missing.txt (RewriteMap m rnd:missing.txt)"),
        ("RewriteMap m nosuch:thing", "test.conf:2: RewriteMap: file for map m not found:/tmp/nosuch:thing (RewriteMap m nosuch:thing)"),
        ("RewriteMap m prg:/nonexistent/helper arg", "test.conf:2: RewriteMap: file for map m not found:/nonexistent/helper (RewriteMap m prg:/nonexistent/helper arg)"),
        ("RewriteMap m dbm=nosuch:/tmp/x.map", "test.conf:2: RewriteMap: dbm type nosuch is invalid (RewriteMap m dbm=nosuch:/tmp/x.map)"),
        ("RewriteMap m dbmx", "test.conf:2: RewriteMap: bad map:dbmx (RewriteMap m dbmx)"),
        ("RewriteMap m dbd:SELECT 1", "test.conf:2: RewriteMap types dbd and fastdbd require mod_dbd! (Skep has no mod_dbd) (RewriteMap m dbd:SELECT 1)"),
        ("RewriteMap m fastdbd:SELECT 1", "test.conf:2: RewriteMap types dbd and fastdbd require mod_dbd! (Skep has no mod_dbd) (RewriteMap m fastdbd:SELECT 1)"),
        ("RewriteMap m", "test.conf:2: RewriteMap takes two or three arguments, a mapname and a filename and options (RewriteMap m)"),
    ])
    func refusedMaps(_ text: String, _ message: String) {
        #expect(configError(text, modules: [Self.module]) == message)
    }

    @Test func onlyInServerContexts() {
        let error = configError("<Directory /tmp>\nRewriteMap m int:tolower\n</Directory>", modules: [Self.module])
        #expect(error?.hasPrefix("test.conf:3: RewriteMap cannot occur within <Directory") == true, "\(error ?? "accepted")")
        #expect(configError("<VirtualHost *:80>\nRewriteMap m int:tolower\n</VirtualHost>", modules: [Self.module]) == nil)
    }

    // MARK: - int:

    @Test(arguments: [
        ("tolower", "AbC-É/x", "abc-É/x"),
        ("toupper", "AbC-é/x", "ABC-é/X"),
        ("escape", "/a b/ü?x=1#f", "/a%20b/%c3%bc%3fx=1%23f"),
        ("unescape", "/a%20b/%c3%BC%2Fx", "/a b/ü/x"),
        ("unescape", "100%zz%2", "100%zz%2"),
        ("unescape", "a%00b", "a"),
    ])
    func internalFunctions(_ function: String, _ key: String, _ expected: String) throws {
        let config = try Self.config("RewriteMap f int:\(function)")
        #expect(try Self.value(config, "f", key) == expected)
        #expect(try Self.value(config, "nosuchmap", key) == nil)
    }

    // MARK: - txt: and rnd:

    @Test func textFileLookups() throws {
        let dir = try TempDir()
        let path = try dir.write("map.txt", """
            # comment line
            key1 value1
            key2\tvalue2 trailing words
             indented notakey
            novalue
            key1 second
            dup x
            dup y
            #hash notakey
            crlf v\r
            """)
        let config = try Self.config("RewriteMap m txt:\(path)\nRewriteMap rel map.txt", serverRoot: dir.path)
        #expect(try Self.value(config, "m", "key1") == "value1")
        #expect(try Self.value(config, "m", "key2") == "value2")
        #expect(try Self.value(config, "m", "indented") == nil)
        #expect(try Self.value(config, "m", "novalue") == nil)
        #expect(try Self.value(config, "m", "dup") == "x")
        #expect(try Self.value(config, "m", "#hash") == nil)
        #expect(try Self.value(config, "m", "crlf") == "v")
        #expect(try Self.value(config, "m", "missing") == nil)
        #expect(try Self.value(config, "m", "") == nil)
        #expect(try Self.value(config, "m", "key1 value1") == nil)
        // A source without a type prefix is a text map relative to ServerRoot.
        #expect(try Self.value(config, "rel", "key1") == "value1")
    }

    @Test func textFileIsReadAgainWhenItChanges() throws {
        let dir = try TempDir()
        let path = try dir.write("map.txt", "a 1\n")
        let config = try Self.config("RewriteMap m txt:\(path)")
        let context = try ServerContext(config: config, moduleTypes: [])
        try withRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main) { r in
            #expect(RewriteMaps.lookup("m", key: "a", r, context) == "1")
            #expect(RewriteMaps.lookup("m", key: "b", r, context) == nil)
            // Same mtime second, other size: still noticed.
            try writeFile(path, "a 2\nb 3\n")
            #expect(RewriteMaps.lookup("m", key: "a", r, context) == "2")
            #expect(RewriteMaps.lookup("m", key: "b", r, context) == "3")
        }
    }

    @Test func textFileOnTheListenerNeedsTheCacheFirst() throws {
        let dir = try TempDir()
        let path = try dir.write("map.txt", "a 1\n")
        let config = try Self.config("RewriteMap m txt:\(path)")
        let (value, blocked) = try Self.lookup(config, "m", "a", onListener: true)
        #expect(value == nil && blocked)
        // int: maps never block.
        let ints = try Self.config("RewriteMap f int:toupper")
        let (upper, intBlocked) = try Self.lookup(ints, "f", "a", onListener: true)
        #expect(upper == "A" && !intBlocked)
    }

    @Test func longLinesAreReadInApachesPieces() {
        // A line longer than 1024 bytes is read in pieces; the second piece is a line of its own.
        let line = String(repeating: "x", count: 1024) + "hidden value\n" + "k v\n"
        let entries = RewriteMapTextFile.parse(Array(line.utf8))
        #expect(entries["hidden"] == "value")
        #expect(entries["k"] == "v")
    }

    @Test func randomMapsPickAmongTheAlternatives() throws {
        let dir = try TempDir()
        let path = try dir.write("rnd.txt", "servers a|b|c\nsingle only\nholes |x\n")
        let config = try Self.config("RewriteMap r rnd:\(path)")
        var seen: Set<String> = []
        for _ in 0..<300 { if let v = try Self.value(config, "r", "servers") { seen.insert(v) } }
        #expect(seen == ["a", "b", "c"])
        #expect(try Self.value(config, "r", "single") == "only")
        var holes: Set<String?> = []
        for _ in 0..<200 { holes.insert(try Self.value(config, "r", "holes")) }
        // The empty alternative is "no value", as Apache's `*value ? value : NULL`.
        #expect(holes == [nil, "x"])
    }

    // MARK: - dbm:

    @Test(arguments: ["", "=sdbm", "=db", "=gdbm"])
    func dbmFilesFromHttxt2dbm(_ type: String) throws {
        let dir = try TempDir()
        let text = try dir.write("map.txt", "k1 v1\nk2 second\n# comment\n")
        let output = dir.path + "/map.dbm"
        var arguments = ["-i", text, "-o", output]
        if !type.isEmpty { arguments += ["-f", String(type.dropFirst()).uppercased()] }
        // Apache's own tool writes the file, as its documentation has users do.
        let tool = Foundation.Process()
        tool.executableURL = URL(fileURLWithPath: "/usr/sbin/httxt2dbm")
        tool.arguments = arguments
        try tool.run()
        tool.waitUntilExit()
        try #require(tool.terminationStatus == 0, "httxt2dbm \(arguments)")
        let config = try Self.config("RewriteMap d dbm\(type):\(output)")
        #expect(try Self.value(config, "d", "k1") == "v1")
        #expect(try Self.value(config, "d", "k2") == "second")
        #expect(try Self.value(config, "d", "k3") == nil)
        #expect(try Self.lookup(config, "d", "k1", onListener: true).blocked)
    }

    @Test func dbmIsReadAgainWhenItChanges() throws {
        let dir = try TempDir()
        let output = dir.path + "/map.dbm"
        #expect(RewriteMapDBM.write([("a", "1")], type: "sdbm", path: output))
        let config = try Self.config("RewriteMap d dbm=sdbm:\(output)")
        let context = try ServerContext(config: config, moduleTypes: [])
        try withRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main) { r in
            #expect(RewriteMaps.lookup("d", key: "a", r, context) == "1")
            #expect(RewriteMaps.lookup("d", key: "b", r, context) == nil)
            // A later mtime (Apache's cache key) invalidates what was cached.
            try Deadline.wait(for: "a new mtime second") {
                #expect(RewriteMapDBM.write([("a", "2"), ("b", "3")], type: "sdbm", path: output))
                return RewriteMaps.lookup("d", key: "a", r, context) == "2"
            }
            #expect(RewriteMaps.lookup("d", key: "b", r, context) == "3")
        }
    }

    // MARK: - prg:

    static let helper = """
        #!/bin/sh
        # Answers one line per key: NULL for "none", the key upper-cased otherwise.
        while read -r key; do
          case "$key" in
            none) echo NULL ;;
            pwd) pwd ;;
            arg) echo "$1" ;;
            *) printf '%s\\n' "$key" | tr a-z A-Z ;;
          esac
        done
        """

    static func programConfig(_ dir: TempDir, extra: String = "") throws -> (ServerConfig, RewriteMapProgram) {
        let path = try dir.write("bin/helper.sh", helper)
        chmod(path, 0o755)
        let config = try Self.config("RewriteMap p \"prg:\(path) first-arg\"\(extra)")
        guard case .program(let program)? = config.main.server[RewriteMapConfig.self].maps["p"] else {
            throw HarnessError("no prg map")
        }
        return (config, program)
    }

    @Test func programMapsAnswerLineByLine() throws {
        try Signal.pipe.ignore()
        let dir = try TempDir()
        let (config, program) = try Self.programConfig(dir)
        // Configured, not started: lookups find nothing (Apache's `fpin == NULL`).
        #expect(program.pid == nil)
        #expect(try Self.value(config, "p", "abc") == nil)
        try RewriteMaps.prepare(config)
        let pid = try #require(program.pid)
        #expect(try Self.value(config, "p", "abc") == "ABC")
        #expect(try Self.value(config, "p", "none") == nil)
        #expect(try Self.value(config, "p", "arg") == "first-arg")
        // It runs in its own directory, as APR's `apr_procattr_dir_set` puts it.
        #expect(try Self.value(config, "p", "pwd") == dir.path + "/bin")
        // A key with a newline would put the pipe out of step: not asked.
        #expect(try Self.value(config, "p", "a\nb") == nil)
        #expect(try Self.value(config, "p", "after") == "AFTER")
        // On the event listener the exchange is left to a worker.
        #expect(try Self.lookup(config, "p", "abc", onListener: true) == (nil, true))
        // Preparing again (another context of the same generation) starts nothing new.
        try RewriteMaps.prepare(config)
        #expect(program.pid == pid)
        program.stop()
        #expect(try waitForChild(pid) != nil)
    }

    @Test func programMapsAreSerializedAcrossThreads() throws {
        try Signal.pipe.ignore()
        let dir = try TempDir()
        let (config, program) = try Self.programConfig(dir)
        try RewriteMaps.prepare(config)
        let pid = try #require(program.pid)
        let context = try ServerContext(config: config, moduleTypes: [])
        let wrong = SharedCount(0)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<50 {
                let key = "t\(thread)k\(i)"
                let value = try? withRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n", server: config.main) { r in
                    RewriteMaps.lookup("p", key: key, r, context)
                }
                if value != key.uppercased() { wrong.add(1) }
            }
        }
        #expect(wrong.value == 0)
        program.stop()
        #expect(try waitForChild(pid) != nil)
    }

    @Test func aDeadProgramAnswersEmptyAsInApache() throws {
        try Signal.pipe.ignore()
        let dir = try TempDir()
        let (config, program) = try Self.programConfig(dir)
        try RewriteMaps.prepare(config)
        let pid = try #require(program.pid)
        try Signal.kill.send(to: pid)
        #expect(try waitForChild(pid) != nil)
        // Apache's lookup_map_program reads end-of-file and returns "": no trap, no default.
        #expect(try Self.value(config, "p", "abc") == "")
        program.stop()
    }

    @Test func theProgramStopsWithItsConfiguration() throws {
        try Signal.pipe.ignore()
        let dir = try TempDir()
        var pid: ProcessID?
        do {
            let (config, program) = try Self.programConfig(dir)
            try RewriteMaps.prepare(config)
            pid = program.pid
            #expect(try Self.value(config, "p", "x") == "X")
        }
        // The last reference went away in the process that started it: SIGTERM.
        let started = try #require(pid)
        let status = try waitForChild(started)
        #expect(status == .signaled(.terminate, coreDumped: false) || status == .exited(code: 0), "\(String(describing: status))")
    }

    @Test func theProgramStopsWhenTheGenerationEnds() throws {
        try Signal.pipe.ignore()
        let dir = try TempDir()
        let (config, program) = try Self.programConfig(dir)
        let context = try ServerContext(config: config, moduleTypes: [])
        try RewriteMaps.prepare(config)
        let pid = try #require(program.pid)
        context.endGeneration()
        #expect(program.pid == nil)
        #expect(try waitForChild(pid) == .signaled(.terminate, coreDumped: false))
        // Stopped for good: lookups have no value, and a second end does nothing.
        #expect(try Self.value(config, "p", "x") == nil)
        context.endGeneration()
    }

    @Test func aProgramThatCannotStartIsAStartUpError() throws {
        let dir = try TempDir()
        let path = try dir.write("not-executable.sh", "#!/bin/sh\n")
        let config = try Self.config("RewriteMap p prg:\(path)")
        #expect {
            try RewriteMaps.prepare(config)
        } throws: { error in
            "\(error)".contains("test.conf:2: AH00654: mod_rewrite: could not start RewriteMap program \(path)")
        }
        // Servers whose engine is off (the caller says) start nothing.
        let (other, program) = try Self.programConfig(dir)
        try RewriteMaps.prepare(other, startsFor: { _ in false })
        #expect(program.pid == nil)
    }

    @Test func tokenizedLikeApr() {
        #expect(RewriteMapProgram.tokenize(#"/bin/x  "a b" 'c d' e\ f"#) == ["/bin/x", "a b", "c d", "e f"])
        #expect(RewriteMapProgram.tokenize("  /bin/x\t-v ") == ["/bin/x", "-v"])
    }

    // MARK: - Virtual hosts

    @Test func virtualHostsSeeTheirOwnMapsUnlessTheyInherit() throws {
        let config = try Self.config("""
            RewriteMap main int:toupper
            <VirtualHost *:80>
            RewriteMap own int:tolower
            </VirtualHost>
            <VirtualHost *:81>
            ServerName empty
            </VirtualHost>
            """)
        #expect(try Self.value(config, "main", "a") == "A")
        #expect(try Self.value(config, "main", "a", vhost: 0) == nil)
        #expect(try Self.value(config, "own", "A", vhost: 0) == "a")
        #expect(try Self.value(config, "main", "a", vhost: 1) == nil)

        var main = RewriteMapConfig()
        main.maps["shared"] = .function(.toupper)
        main.maps["both"] = .function(.toupper)
        var vhost = RewriteMapConfig()
        vhost.maps["both"] = .function(.tolower)
        vhost.writtenInVirtualHost = true
        func both(_ config: RewriteMapConfig) -> String? {
            guard case .function(let f)? = config.maps["both"] else { return nil }
            return f.rawValue
        }
        var inherit = vhost
        inherit.setInheritance(.inherit)
        #expect(main.merged(with: inherit).maps["shared"] != nil)
        #expect(both(main.merged(with: inherit)) == "tolower")
        var before = vhost
        before.setInheritance(.inheritBefore)
        #expect(both(main.merged(with: before)) == "toupper")
        var down = main
        down.setInheritance(.inheritDown)
        #expect(down.merged(with: vhost).maps["shared"] != nil)
        var ignoring = vhost
        ignoring.setInheritance(.ignoreInherit)
        #expect(down.merged(with: ignoring).maps["shared"] == nil)
        #expect(main.merged(with: vhost).maps["shared"] == nil)
    }
}

/// A counter the threads of a test share.
final class SharedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int
    init(_ value: Int) { count = value }
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
