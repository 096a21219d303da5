import Testing

/// Starts `kind` with `config`, waits until it serves, runs `body`, and always stops
/// it and removes its ServerRoot afterwards, even when `body` throws. Records a test
/// issue if stopping left processes behind.
@discardableResult
func withServer<R>(
    _ kind: ServerKind = .skep, config: TestConfig, mode: RunMode = .foreground,
    readyTimeout: Duration = .seconds(15),
    _ body: (ServerProcess) throws -> R
) throws -> R {
    defer { config.root.remove() }
    let server = try ServerProcess.start(kind, config: config, mode: mode)
    defer {
        let report = server.stop()
        if !report.leftovers.isEmpty {
            Issue.record("\(kind) left processes behind after stop: \(report.leftovers)")
        }
    }
    try server.waitUntilReady(timeout: readyTimeout)
    return try body(server)
}

/// For differential tests: starts skep and Apache with the same config (rendered into
/// two ServerRoots, on two ports), after `setUp` has run once for each config (put
/// documents in `config.root`, set `config.extra`, ...), then runs `body` with both.
/// `skepMode` (default: `mode`) lets skep run single-process while Apache runs its MPM.
@discardableResult
func withServerPair<R>(
    mpm: MPM = .event, mode: RunMode = .foreground, skepMode: RunMode? = nil,
    setUp: (inout TestConfig) throws -> Void = { _ in },
    _ body: (_ skep: ServerProcess, _ apache: ServerProcess) throws -> R
) throws -> R {
    var skepConfig = try TestConfig(mpm: mpm)
    var apacheConfig = try TestConfig(mpm: mpm)
    do {
        try setUp(&skepConfig)
        try setUp(&apacheConfig)
    } catch {
        skepConfig.root.remove()
        apacheConfig.root.remove()
        throw error
    }
    return try withServer(.apache, config: apacheConfig, mode: mode) { apache in
        try withServer(.skep, config: skepConfig, mode: skepMode ?? mode) { skep in
            try body(skep, apache)
        }
    }
}
