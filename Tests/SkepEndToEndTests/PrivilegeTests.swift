import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// `User` / `Group`: children drop to them, the master stays root (it must bind,
    /// signal and reap); without `User` the error log says the children run as root.
    @Suite(.enabled(if: getuid() == 0, "needs root"))
    struct PrivilegeTests {
        typealias S = MPMTestSupport

        static var nobodyExists: Bool { S.uid(ofUser: "nobody") != nil && S.gid(ofGroup: "nogroup") != nil }

        @Test(.enabled(if: PrivilegeTests.nobodyExists, "needs user nobody and group nogroup"),
              arguments: [MPM.prefork, .worker])
        func childrenRunAsUserAndGroupAndTheMasterStaysRoot(mpm: MPM) throws {
            let config = try S.config(mpm, """
                User nobody
                Group nogroup
                StartServers 2
                \(mpm == .worker ? "ThreadsPerChild 4\nMaxRequestWorkers 8\nServerLimit 2\nMinSpareThreads 2\nMaxSpareThreads 7" : "MinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 4\nServerLimit 4")
                """)
            let uid = S.uid(ofUser: "nobody")!, gid = S.gid(ofGroup: "nogroup")!
            try withServer(.skep, config: config) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count >= 2 }
                #expect(try S.get(port: server.port) == 200)
                for child in server.children() {
                    #expect(S.uids(child) == [uid, uid, uid, uid], "child \(child) Uid: \(S.uids(child) ?? [])")
                    #expect(S.gids(child) == [gid, gid, gid, gid], "child \(child) Gid: \(S.gids(child) ?? [])")
                }
                #expect(S.uids(server.pid) == [0, 0, 0, 0])
                #expect(!server.errorLog().contains("children run as root"))
                // Children started later (a graceful restart) drop too.
                #expect(try server.control("graceful").succeeded)
                try Deadline.wait(for: "generation 1", timeout: .seconds(5)) {
                    try S.statusAuto(port: server.port)["ParentServerMPMGeneration"] == "1"
                }
                for child in server.children() {
                    #expect(S.uids(child)?.first == uid, "child \(child) after graceful")
                }
            }
        }

        @Test func withoutUserTheLogSaysChildrenRunAsRoot() throws {
            let config = try S.config(.prefork, "StartServers 1\nMinSpareServers 1\nMaxSpareServers 2")
            try withServer(.skep, config: config) { server in
                #expect(server.errorLog().contains("children run as root"), "\(server.errorLog())")
                for child in server.children() { #expect(S.uids(child)?.first == 0) }
            }
        }
    }
}
