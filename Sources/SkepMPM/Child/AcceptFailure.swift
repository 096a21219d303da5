import SkepServer
import SkepSystem

/// What a listener does when `accept` fails, in every MPM. A transient error (the client
/// gave up in the queue) is ignored, as Apache's `ap_unixd_accept` does. Any other — above
/// all running out of descriptors (EMFILE, ENFILE) or memory — is logged as Apache logs it
/// and pauses accepting: the connection stays queued, the listening socket stays readable,
/// and a listener that went straight back to `epoll_wait` would spin on it at full CPU
/// for as long as the shortage lasts (nginx pauses 500 ms too).
enum AcceptFailure {
    static let pauseMilliseconds = 500

    /// Whether `error` calls for the pause; logs it when it does.
    static func needsPause(_ error: Error, context: ServerContext, module: String) -> Bool {
        if let error = error as? SystemError, error.isTransientAcceptError { return false }
        let cause = (error as? SystemError).map { "(\($0.code))\($0.errno)" } ?? "\(error)"
        context.errorLog.log(.error, module: module,
                             "\(cause): apr_socket_accept: (client socket); not accepting for \(pauseMilliseconds) ms")
        return true
    }

    /// Accepts one connection for a listener that may block (prefork, worker): nil when
    /// there was none, or when `accept` failed (after the pause a shortage calls for).
    static func accept(_ listener: ListeningSocket, context: ServerContext, module: String) -> (socket: Socket, peer: SocketAddress)? {
        do {
            return try listener.accept(nonBlocking: true)
        } catch {
            if needsPause(error, context: context, module: module) {
                SystemClock.sleep(milliseconds: pauseMilliseconds)
            }
            return nil
        }
    }
}
