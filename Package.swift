// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "luffy-pay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "luffy-pay", targets: ["luffy-pay"]),
        .executable(name: "alipay-sandbox", targets: ["alipay-sandbox"]),
    ],
    targets: [
        // Thin C-interop modules: one per system library, each a module map and a shim header.
        .systemLibrary(name: "CFastCGI"),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "LuffyPay", dependencies: ["CFastCGI", "CMariaDB", "COpenSSL"]),
        .executableTarget(name: "luffy-pay", dependencies: ["LuffyPay"]),
        .testTarget(name: "LuffyPayTests", dependencies: ["LuffyPay"]),
        // The local stand-in for Alipay's gateway (docs/SANDBOX.md): logic in the library, wiring
        // in the executable.
        .target(name: "AlipaySandbox", dependencies: ["LuffyPay"]),
        .executableTarget(name: "alipay-sandbox", dependencies: ["AlipaySandbox", "LuffyPay"]),
        .testTarget(name: "AlipaySandboxTests", dependencies: ["AlipaySandbox", "LuffyPay"]),
    ]
)
