// swift-tools-version:6.0
// The request-path fuzzer: libFuzzer drives a whole `HTTPConnection` (parser, modules,
// static files, mod_alias, mod_dir, mod_authz_core, ErrorDocument, mod_log_config and a
// FastCGI back end answering fuzzed bytes). A package of its own, as Examples/ is, so
// that the root package's plain `swift build` never sees a target without `main`:
// Fuzz/run builds it with `-sanitize=fuzzer,address`, which brings libFuzzer's `main`.
import Foundation
import PackageDescription

// The root package is two directories up; its identity is the directory it was cloned
// into (not fixed), so it is computed rather than spelled out.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

let package = Package(
    name: "SkepRequestPathFuzzer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: root.path),
    ],
    targets: [
        // SkepServer is no product of the root package (its API is the engine's, free to
        // change); the `Skep` product builds it, and the fuzzer imports it from there.
        .executableTarget(
            name: "RequestPathFuzzer",
            dependencies: ["CFuzzerDriver", .product(name: "Skep", package: root.lastPathComponent)]
        ),
        // The entry point that hands `main` to libFuzzer's driver (see driver.c).
        .target(name: "CFuzzerDriver"),
    ],
    swiftLanguageModes: [.v6]
)
