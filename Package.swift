// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Skep",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "skep", targets: ["skep"]),
        .library(name: "Skep", targets: ["Skep"]),
        .library(name: "SkepHTTP", targets: ["SkepHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .target(name: "CSkepSystem"),
        .target(
            name: "SkepSystem",
            dependencies: [
                "CSkepSystem",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(name: "SkepHTTP"),
        // Regular expressions are PCRE2 from the system (Debian's libpcre2-dev), as Apache's.
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .target(name: "SkepConfig", dependencies: ["CPCRE2"]),
        // Passwords are checked with Apache's own library, APR-util (Debian's libaprutil1-dev):
        // `apr_password_validate`, as mod_authn_file does.
        .systemLibrary(name: "CAPRUtil", pkgConfig: "apr-util-1", providers: [.apt(["libaprutil1-dev"])]),
        // Digests (ap_expr's md5() and sha1()) from the system's OpenSSL (Debian's libssl-dev).
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // mod_deflate compresses with zlib from the system (Debian's zlib1g-dev), as Apache's.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // OpenSSL 3's libssl: mod_ssl's TLS (Debian's libssl-dev, as CLibCrypto).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "SkepScoreboard", dependencies: ["SkepSystem"]),
        .target(name: "SkepServer", dependencies: ["SkepHTTP", "SkepScoreboard", "SkepSystem", "SkepConfig", "CAPRUtil", "CLibCrypto", "CZlib", "COpenSSL"]),
        .target(name: "SkepMPM", dependencies: ["SkepServer", "SkepHTTP", "SkepScoreboard", "SkepSystem", "SkepConfig"]),
        // The embedding API and the command line: `skep` is a server built on it with no modules of its own.
        .target(
            name: "Skep",
            dependencies: [
                "SkepMPM", "SkepServer", "SkepConfig", "SkepHTTP", "SkepSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "skep", dependencies: ["Skep"]),
        // The helpers every test target shares (Deadline, temporary files, captureError,
        // waitForChild); only test targets depend on it, so no product links it.
        .target(name: "SkepTestSupport", dependencies: ["SkepConfig", "SkepSystem", "CZlib"], path: "Tests/SkepTestSupport"),
        .testTarget(name: "SkepConfigTests", dependencies: ["SkepConfig", "SkepTestSupport"]),
        .testTarget(name: "SkepHTTPTests", dependencies: ["SkepHTTP"]),
        .testTarget(name: "SkepSystemTests", dependencies: ["SkepSystem", "SkepTestSupport"]),
        .testTarget(name: "SkepMPMTests", dependencies: ["SkepMPM", "SkepConfig", "SkepTestSupport"]),
        .testTarget(name: "SkepScoreboardTests", dependencies: ["SkepScoreboard", "SkepSystem", "SkepTestSupport"]),
        .testTarget(name: "SkepServerTests", dependencies: ["SkepServer", "SkepConfig", "SkepHTTP", "SkepSystem", "SkepTestSupport"]),
        // A server built on the `Skep` library with handlers that answer, stream, block and
        // crash, for the end-to-end tests of the embedding API.
        .executableTarget(name: "SkepTestApp", dependencies: ["Skep"], path: "Tests/SkepTestApp"),
        .testTarget(name: "SkepEndToEndTests", dependencies: ["skep", "SkepTestApp", "SkepTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
