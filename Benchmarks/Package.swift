// swift-tools-version:6.0
// The parser benchmark: Skep's `RequestParser` against SwiftNIO's `HTTPRequestDecoder`;
// and `single-process-server`, the one-process SwiftNIO server that
// `crash/crash-isolation.py` crashes next to Skep.
//
// Why a separate package: the server's own build and CI never fetch or build SwiftNIO;
// only `parser-bench.sh` and `crash/crash-isolation.py` do. See README.md.
import Foundation
import PackageDescription

// The root package is the directory above this one. Its identity is the name of the
// directory it is cloned into (not fixed: CI clones into a fresh directory), so it is
// computed here rather than spelled out.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "SkepBenchmarks",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parser-bench", targets: ["ParserBench"]),
        .executable(name: "single-process-server", targets: ["SingleProcessServer"]),
    ],
    dependencies: [
        .package(path: root.path),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
    ],
    targets: [
        // Counts malloc calls by defining the allocator entry points in the executable
        // itself (ELF interposition); see CMallocCounter/malloc_counter.c.
        .target(name: "CMallocCounter"),
        .executableTarget(
            name: "ParserBench",
            dependencies: [
                "CMallocCounter",
                .product(name: "SkepHTTP", package: root.lastPathComponent),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "SingleProcessServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
