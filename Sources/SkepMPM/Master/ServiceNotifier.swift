import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness protocol (`sd_notify`), when `NOTIFY_SOCKET` is set: `READY=1`
/// once the master serves, `RELOADING=1` and `READY=1` around restarts, `STOPPING=1` on
/// stop, and `MAINPID`, so a `Type=notify` unit knows the real state of the server.
struct ServiceNotifier {
    let path: String?

    init() {
        path = getenv("NOTIFY_SOCKET").map { String(cString: $0) }
    }

    func ready() { send("READY=1\nSTATUS=serving\nMAINPID=\(getpid())") }
    func reloading() { send("RELOADING=1") }
    func stopping() { send("STOPPING=1") }

    private func send(_ message: String) {
        guard let path else { return }
        try? Datagram.send(message, toUnixPath: path)
    }
}
