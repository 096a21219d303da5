/// Debian's Apache httpd, the reference for differential tests: the same config
/// renderer, the same bytes sent, the answers compared with skep's.
///
/// Debian's `apache2` wants `APACHE_RUN_DIR` & co. only when the config refers to
/// them; the configs rendered here do not.
enum Oracle {
    static var path: String { ServerBinary.apachePath }

    /// Whether Apache is installed (for `.enabled(if: Oracle.isAvailable)`).
    static var isAvailable: Bool { ServerBinary.apacheAvailable }

    /// Starts Apache on `config` and waits until it serves. Stop it (or use
    /// `withServer(.apache, ...)`, which does).
    static func start(_ config: TestConfig, mode: RunMode = .foreground) throws -> ServerProcess {
        let server = try ServerProcess.start(.apache, config: config, mode: mode)
        do {
            try server.waitUntilReady()
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    /// `apache2 -t -f CONF` on the config rendered for Apache.
    static func configtest(_ config: TestConfig) throws -> Subprocess.Result {
        try ServerBinary.configtest(.apache, configPath: config.write(for: .apache))
    }
}
