// swift-tools-version:6.0
import PackageDescription

/// Every target compiles with the same strict settings (docs/ARCHITECTURE.md, "Modules").
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "luffy-pay",
    products: [
        .executable(name: "luffy-pay", targets: ["luffy-pay"]),
        .executable(name: "alipay-sandbox", targets: ["alipay-sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        // Thin C-interop modules: one per system library, each a module map and a shim header.
        .systemLibrary(name: "CFastCGI"),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),

        // Layers, each depending only on the ones below it (docs/ARCHITECTURE.md, "Modules").
        .target(name: "LuffyCore", swiftSettings: strict),
        .target(name: "FastCGI", dependencies: ["LuffyCore", "CFastCGI", .product(name: "Metrics", package: "swift-metrics")],
                swiftSettings: strict),
        .target(name: "MariaDB", dependencies: ["LuffyCore", "CMariaDB"], swiftSettings: strict),
        .target(name: "Alipay", dependencies: ["LuffyCore", "COpenSSL"], swiftSettings: strict),
        // The shop: users, orders, coupons, payments, audit and its routes.
        .target(name: "LuffyPay", dependencies: ["LuffyCore", "FastCGI", "MariaDB", "Alipay",
                                                 .product(name: "CoreMetrics", package: "swift-metrics")],
                swiftSettings: strict),
        // The local stand-in for Alipay's gateway (docs/SANDBOX.md): it knows nothing of the shop.
        .target(name: "AlipaySandbox", dependencies: ["LuffyCore", "FastCGI", "Alipay"], swiftSettings: strict),

        // Request builders and fixtures the test targets share.
        .target(name: "LuffyTestSupport", dependencies: ["LuffyCore", "FastCGI"], swiftSettings: strict),

        // Executables only wire.
        .executableTarget(name: "luffy-pay", dependencies: ["LuffyCore", "FastCGI", "MariaDB", "Alipay", "LuffyPay"],
                          swiftSettings: strict),
        .executableTarget(name: "alipay-sandbox", dependencies: ["LuffyCore", "FastCGI", "Alipay", "AlipaySandbox"],
                          swiftSettings: strict),

        .testTarget(name: "LuffyCoreTests", dependencies: ["LuffyCore"], swiftSettings: strict),
        .testTarget(name: "FastCGITests", dependencies: ["LuffyCore", "FastCGI", "CFastCGI",
                                                   .product(name: "MetricsTestKit", package: "swift-metrics")],
                    swiftSettings: strict),
        .testTarget(name: "AlipayTests", dependencies: ["LuffyCore", "Alipay", "COpenSSL"],
                    swiftSettings: strict),
        .testTarget(name: "LuffyPayTests", dependencies: ["LuffyCore", "FastCGI", "MariaDB", "Alipay", "LuffyPay", "LuffyTestSupport",
                                                    .product(name: "MetricsTestKit", package: "swift-metrics")],
                    swiftSettings: strict),
        .testTarget(name: "AlipaySandboxTests", dependencies: ["LuffyCore", "FastCGI", "Alipay", "AlipaySandbox"], swiftSettings: strict),
    ]
)
