import Foundation
import Testing

/// `RewriteMap` lookups through `RewriteRule` substitutions, against Debian's Apache: every
/// map type (txt, rnd with one alternative, the four int functions, dbm in Debian's
/// default format and SDBM, a prg helper), hits, misses with and without a default, nested
/// lookups, a host that inherits the main server's maps and one that does not. Compared per
/// request: the status and `Location`.
@Suite(.tags(.apache, .skepBinary), .enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .timeLimit(.minutes(10)))
struct RewriteMapDifferentialTests {
    typealias F = EngineFixture

    static let config = #"""
        RewriteMap txt "txt:@ROOT@/maps/map.txt"
        RewriteMap bare "@ROOT@/maps/map.txt"
        RewriteMap rnd "rnd:@ROOT@/maps/rnd.txt"
        RewriteMap lower int:tolower
        RewriteMap upper int:toupper
        RewriteMap esc int:escape
        RewriteMap unesc int:unescape
        RewriteMap dbm "dbm:@ROOT@/maps/map.db"
        RewriteMap sdbm "dbm=sdbm:@ROOT@/maps/map.sdbm"
        RewriteMap prg "prg:@ROOT@/maps/helper.sh"
        <VirtualHost *:@PORT@>
            ServerName a
            RewriteEngine On
            RewriteOptions Inherit
            RewriteRule ^/txt/(.*) /out/${txt:$1|none}? [R,L]
            RewriteRule ^/nodefault/(.*) /out/[${txt:$1}]? [R,L]
            RewriteRule ^/bare/(.*) /out/${bare:$1|none}? [R,L]
            RewriteRule ^/rnd/(.*) /out/${rnd:$1|none}? [R,L]
            RewriteRule ^/lower/(.*) /out/${lower:$1}? [R,L]
            RewriteRule ^/upper/(.*) /out/${upper:$1}? [R,L]
            RewriteRule ^/esc/(.*) /out/${esc:$1}? [R,L,NE]
            RewriteRule ^/unesc/(.*) /out/${unesc:$1}? [R,L]
            RewriteRule ^/dbm/(.*) /out/${dbm:$1|none}? [R,L]
            RewriteRule ^/sdbm/(.*) /out/${sdbm:$1|none}? [R,L]
            RewriteRule ^/prg/(.*) /out/${prg:$1|none}? [R,L]
            RewriteRule ^/nested/(.*) /out/${txt:${lower:$1}|${upper:$1}}? [R,L]
            RewriteRule ^/nomap/(.*) /out/${nosuch:$1|fallback}? [R,L]
        </VirtualHost>
        <VirtualHost *:@PORT@>
            # Without RewriteOptions Inherit a host has none of the main server's maps.
            ServerName other.test
            RewriteEngine On
            RewriteRule ^/txt/(.*) /out/${txt:$1|notinherited}? [R,L]
        </VirtualHost>
        """#

    static let mapText = """
        # key value lines, as Apache's docs show them
        key1 value1
        Key2\tvalue2 ignored
        dup first
        dup second
        novalue
         indented skipped
        lower hit-through-lower
        """

    static let helper = """
        #!/bin/sh
        # One line in, one line out; NULL is "no value".
        while read -r key; do
          case "$key" in
            none) echo NULL ;;
            *) printf 'prg-%s\\n' "$key" ;;
          esac
        done
        """

    /// Paths and the Host to send (`a` is the first, default host, which inherits the
    /// main server's maps).
    static let cases: [(path: String, host: String)] = [
        ("/txt/key1", "a"), ("/txt/Key2", "a"), ("/txt/key2", "a"), ("/txt/dup", "a"), ("/txt/novalue", "a"),
        ("/txt/indented", "a"), ("/txt/missing", "a"), ("/nodefault/key1", "a"), ("/nodefault/missing", "a"),
        ("/bare/key1", "a"), ("/rnd/one", "a"), ("/rnd/missing", "a"),
        ("/lower/MiXeD", "a"), ("/upper/MiXeD", "a"), ("/esc/a%20b%3Fc", "a"), ("/unesc/a%2541b", "a"),
        ("/dbm/k1", "a"), ("/dbm/k2", "a"), ("/dbm/none", "a"), ("/sdbm/k1", "a"), ("/sdbm/zz", "a"),
        ("/prg/abc", "a"), ("/prg/none", "a"), ("/prg/x%20y", "a"),
        ("/nested/LOWER", "a"), ("/nested/Other", "a"), ("/nomap/x", "a"),
        ("/txt/key1", "other.test"),
    ]

    static func setUp(_ config: inout TestConfig) throws {
        config.modules = F.commonModules + ["rewrite"]
        config.skepModules = F.commonModules + ["rewrite"]
        let root = config.root
        try root.writeFile("maps/map.txt", mapText)
        try root.writeFile("maps/rnd.txt", "one only|only\n")
        try root.writeFile("maps/helper.sh", helper, mode: 0o755)
        let text = try root.writeFile("maps/dbm.txt", "k1 v1\nk2 second-value\n")
        // Apache's own tool writes the DBM files, in Debian's default format and in SDBM.
        for (format, file) in [(nil, "map.db"), ("SDBM", "map.sdbm")] {
            var arguments = ["-i", text, "-o", root.path + "/maps/" + file]
            if let format { arguments += ["-f", format] }
            let tool = try Subprocess.run("/usr/sbin/httxt2dbm", arguments)
            guard tool.succeeded else { throw HarnessError("httxt2dbm \(arguments): \(tool.statusText) \(tool.stderr)") }
        }
    }

    static func get(_ server: ServerProcess, _ path: String, host: String) throws -> HTTPResponse {
        try F.exchange(server, "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n")
    }

    @Test
    func mapLookupsAnswerAsApache() throws {
        try DifferentialTests.pair(extra: Self.config, setUp: Self.setUp) { skep, apache in
            for (path, host) in Self.cases {
                let s = try Self.get(skep, path, host: host), a = try Self.get(apache, path, host: host)
                let detail = "\(host)\(path): skep \(s.status) \(s.header("Location") ?? "") / apache \(a.status) \(a.header("Location") ?? "")"
                #expect(s.status == a.status, "\(detail)")
                // The port differs between the two servers; the rest of the URL must not.
                #expect(s.header("Location")?.replacingOccurrences(of: ":\(skep.port)/", with: ":PORT/")
                        == a.header("Location")?.replacingOccurrences(of: ":\(apache.port)/", with: ":PORT/"), "\(detail)")
            }
            F.expectStillServing(skep, after: "the map cases")
        }
    }

    /// The cases are kept honest on Apache alone: its configuration loads, every case is a
    /// redirect into `/out/`, and the maps answer (hits differ from misses), so the
    /// differential above cannot pass by two servers answering the same nothing.
    @Test func theCasesRunOnApache() throws {
        var config = try TestConfig()
        config.extra = Self.config
        try F.populate(config.root)
        try Self.setUp(&config)
        try withServer(.apache, config: config) { apache in
            var locations: [String: String] = [:]
            for (path, host) in Self.cases {
                let a = try Self.get(apache, path, host: host)
                #expect(a.status == 302, "\(host)\(path): \(a.status)")
                let location = a.header("Location") ?? ""
                #expect(location.contains("/out/"), "\(host)\(path): \(location)")
                locations[host + path] = location
            }
            #expect(locations["a/txt/key1"] != locations["a/txt/missing"])
            #expect(locations["a/dbm/k1"] != locations["a/dbm/none"])
            #expect(locations["a/sdbm/k1"] != locations["a/sdbm/zz"])
            #expect(locations["a/prg/abc"] != locations["a/prg/none"])
            #expect(locations["other.test/txt/key1"] != locations["a/txt/key1"].map { $0.replacingOccurrences(of: "//a/", with: "//other.test/") })
        }
    }

    /// `apache2 -t` and `skep -t` refuse the same bad maps with the same words.
    @Test(arguments: [
        "RewriteMap m int:nosuch",
        "RewriteMap m txt:/nonexistent/map.txt",
        "RewriteMap m nosuch:thing",
        "RewriteMap m prg:/nonexistent/helper",
        "RewriteMap m dbm=nosuch:/tmp/x.map",
        "RewriteMap m dbmx",
        "RewriteMap m dbd:SELECT",
        "RewriteMap m fastdbd:SELECT",
        "RewriteMap m",
    ])
    func refusedAsApache(_ line: String) throws {
        try ConfigErrorOracle.expectSameRefusal(line, modules: F.commonModules + ["rewrite"])
    }
}
