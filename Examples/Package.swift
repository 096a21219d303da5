// swift-tools-version:6.0
// An example server built on the `Skep` library: a module of its own with a JSON
// endpoint, a streamed countdown, a file download, a directive and a child_init hook.
//
// A separate package, as an application of yours would be: it depends on the root
// package by path. Build and test it with
//   swift build --package-path Examples
//   swift test --package-path Examples
import Foundation
import PackageDescription

// The root package is the directory above this one. Its identity is the name of the
// directory it is cloned into (not fixed: CI clones into a fresh directory), so it is
// computed here rather than spelled out.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "SkepExamples",
    // Synchronization's Mutex needs macOS 15.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "skep-example", targets: ["SkepExample"]),
    ],
    dependencies: [
        .package(path: root.path),
    ],
    targets: [
        .executableTarget(
            name: "SkepExample",
            dependencies: [.product(name: "Skep", package: root.lastPathComponent)]
        ),
        // Runs the built skep-example binary (it must be built first: `swift build`).
        .testTarget(name: "SkepExampleTests", dependencies: ["SkepExample"]),
    ],
    swiftLanguageModes: [.v6]
)
