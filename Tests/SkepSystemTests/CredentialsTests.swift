import Glibc
import Testing
@testable import SkepSystem
import SkepTestSupport

@Suite struct CredentialsTests {
    @Test func lookups() throws {
        let root = try #require(try UserAccount.lookup("root"))
        #expect(root.userID == 0)
        #expect(root.groupID == 0)
        #expect(root.name == "root")
        #expect(try UserAccount.lookup("#0")?.name == "root")
        #expect(try UserAccount.lookup("no-such-user-skep") == nil)
        #expect(try UserAccount.resolveUserID("#4242") == 4242)
        #expect(try UserAccount.resolveUserID("no-such-user-skep") == nil)
        #expect(try GroupAccount.lookup("root")?.groupID == 0)
        #expect(try GroupAccount.lookup("#0")?.name == "root")
        #expect(try GroupAccount.lookup("no-such-group-skep") == nil)
        #expect(try GroupAccount.resolveGroupID("#4242") == 4242)
        #expect(Credentials.userID == getuid())
        #expect(Credentials.effectiveUserID == geteuid())
        _ = try Credentials.supplementaryGroups()
    }

    @Test func dropPrivilegesInChild() throws {
        guard Credentials.isRoot, let nobody = try UserAccount.lookup("nobody") else { return }
        let memory = try SharedMemory.anonymous(size: 64)
        defer { try? memory.unmap() }
        let words = memory.baseAddress.assumingMemoryBound(to: Int64.self)
        switch try Process.fork() {
        case .child:
            // Only syscalls here: setgroups, setgid, setuid, prctl (no NSS lookups).
            let dropped = (try? Credentials.dropPrivileges(userID: nobody.userID, groupID: nobody.groupID,
                                                           supplementaryGroupsOf: nil)) != nil
            words[0] = dropped ? 1 : 0
            words[1] = Int64(getuid())
            words[2] = Int64(geteuid())
            words[3] = Int64(getgid())
            words[4] = setuid(0) == -1 ? 1 : 0
            words[5] = (try? Process.setParentDeathSignal(.terminate)) != nil ? 1 : 0
            Process.exit(0)
        case .parent(let pid):
            #expect(try waitForChild(pid) == .exited(code: 0))
            #expect(words[0] == 1)
            #expect(words[1] == Int64(nobody.userID))
            #expect(words[2] == Int64(nobody.userID))
            #expect(words[3] == Int64(nobody.groupID))
            #expect(words[4] == 1)
            #expect(words[5] == 1)
        }
    }
}
