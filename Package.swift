// swift-tools-version:6.0
import PackageDescription

/// Every target compiles with the same strict settings (docs/ARCHITECTURE.md, "Modules").
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "CoreMetrics", package: "swift-metrics")
/// `Timer.record(duration:)` and friends, over CoreMetrics.
let metricsConveniences: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
/// An in-memory metrics factory for tests that read what a step recorded.
let metricsTestKit: Target.Dependency = .product(name: "MetricsTestKit", package: "swift-metrics")

let package = Package(
    name: "luffy-pay",
    products: [
        .executable(name: "luffy-pay", targets: ["luffy-pay"]),
        .executable(name: "alipay-sandbox", targets: ["alipay-sandbox"]),
        .executable(name: "luffy-pay-ceiling", targets: ["luffy-pay-ceiling"]),
    ],
    // Logging and metrics through the server ecosystem's APIs (README, "Logs" and "Metrics").
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
    ],
    targets: [
        // Thin C-interop modules: one per system library, each a module map and a shim header.
        .systemLibrary(name: "CFastCGI"),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZip", pkgConfig: "libzip", providers: [.apt(["libzip-dev"])]),
        .systemLibrary(name: "CIconv"),

        // Layers, each depending only on the ones below it (docs/ARCHITECTURE.md, "Modules").
        .target(name: "LuffyCore", dependencies: [logging, metrics], swiftSettings: strict),
        .target(
            name: "FastCGI", dependencies: ["LuffyCore", "CFastCGI", logging, metrics, metricsConveniences],
            swiftSettings: strict),
        .target(name: "MariaDB", dependencies: ["LuffyCore", "CMariaDB", logging, metrics], swiftSettings: strict),
        .target(
            name: "Alipay", dependencies: ["LuffyCore", "COpenSSL", "CZip", "CIconv", metrics], swiftSettings: strict),
        // The shop: users, orders, coupons, payments, audit and its routes.
        .target(
            name: "LuffyPay", dependencies: ["LuffyCore", "FastCGI", "MariaDB", "Alipay", logging, metrics],
            swiftSettings: strict),
        // What the database alone sustains for each endpoint's work (README, "The database's
        // ceiling"): the shop's own functions from many connections, no HTTP.
        .target(
            name: "LuffyCeiling", dependencies: ["LuffyCore", "MariaDB", "Alipay", "LuffyPay", logging],
            swiftSettings: strict),
        // The local stand-in for Alipay's gateway (docs/SANDBOX.md): it knows nothing of the shop.
        .target(name: "AlipaySandbox", dependencies: ["LuffyCore", "FastCGI", "Alipay", logging], swiftSettings: strict),

        // Executables only wire.
        .executableTarget(
            name: "luffy-pay", dependencies: ["LuffyCore", "FastCGI", "MariaDB", "Alipay", "LuffyPay", logging, metrics],
            swiftSettings: strict),
        .executableTarget(
            name: "luffy-pay-ceiling", dependencies: ["LuffyCore", "Alipay", "LuffyPay", "LuffyCeiling"],
            swiftSettings: strict),
        .executableTarget(
            name: "alipay-sandbox", dependencies: ["LuffyCore", "FastCGI", "Alipay", "AlipaySandbox", logging],
            swiftSettings: strict),

        // What several test targets share: the RSA test keys, request builders.
        .target(name: "LuffyTestSupport", dependencies: ["LuffyCore", "FastCGI", "Alipay"], swiftSettings: strict),

        .testTarget(name: "LuffyCoreTests", dependencies: ["LuffyCore", logging, metrics], swiftSettings: strict),
        .testTarget(name: "MariaDBTests", dependencies: ["LuffyCore", "MariaDB"], swiftSettings: strict),
        .testTarget(
            name: "FastCGITests", dependencies: ["LuffyCore", "FastCGI", "CFastCGI", logging, metricsTestKit],
            swiftSettings: strict),
        .testTarget(
            name: "AlipayTests", dependencies: ["LuffyCore", "Alipay", "COpenSSL", "LuffyTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LuffyPayTests",
            dependencies: [
                "LuffyCore", "FastCGI", "MariaDB", "Alipay", "LuffyPay",
                "LuffyTestSupport", logging, metrics, metricsTestKit,
            ],
            swiftSettings: strict),
        .testTarget(name: "LuffyCeilingTests", dependencies: ["LuffyCeiling"], swiftSettings: strict),
        .testTarget(
            name: "AlipaySandboxTests",
            dependencies: [
                "LuffyCore", "FastCGI", "Alipay", "AlipaySandbox",
                "LuffyTestSupport", logging,
            ], swiftSettings: strict),
    ]
)
