public import Alipay
public import FastCGI
public import Foundation
public import Logging
import LuffyCore
public import MariaDB

/// Everything deployment-specific, read from the environment and an optional KEY=VALUE file
/// (`LUFFY_CONFIG`); the environment wins so systemd drop-ins can override the file.
public struct Settings: Sendable {
    public var dbHost = "127.0.0.1"
    public var dbPort: UInt32 = 3306
    public var dbSocket: String? = nil
    public var dbUser = "luffy"
    public var dbPassword = ""
    public var dbName = "luffycity"
    /// `LUFFY_DB_NODES`: the nodes of a Galera cluster (README, "Database nodes"); empty: the one
    /// server of `dbHost`/`dbPort`/`dbSocket`.
    public var dbNodes: [DatabaseNode] = []
    /// `LUFFY_DB_WRITE_MODE`: how the workers choose their node among `dbNodes`.
    public var dbWriteMode = DatabaseWriteMode.single
    public var threads = 8
    /// `LUFFY_GATEWAY_CONCURRENCY`: gateway calls in flight at once (README "Faults": gateway slow).
    public var gatewayConcurrency = 2
    public var fcgiSocket: String? = nil
    /// Seconds a FastCGI connection has for its whole request (and again for taking the answer).
    public var fcgiReadTimeout = 5
    /// Bytes of a FastCGI request's head (begin-request and params records): nginx's request
    /// line and headers (large_client_header_buffers, 4 × 8 KiB by default) fit with room to spare.
    public var fcgiMaxParams = 64 << 10
    /// Group of the socket `serve` creates (mode 0660); nil: the process's group.
    public var fcgiSocketGroup: String? = nil
    public var jwtSecret = ""
    public var maxBody = 1 << 20
    /// `LUFFY_ORDER_TIMEOUT` (seconds): how long an unpaid order may be paid.
    public var orderTimeout: Duration = .seconds(900)
    public var sweepInterval = 30
    /// `LUFFY_REFUND_INTERVAL` (seconds): how often `serve` runs the refund worker; 0: never.
    public var refundInterval = 10
    public var creditRatio = 10
    public var timeZone = TimeZone(identifier: "Asia/Shanghai")!
    public var logLevel = Logger.Level.info
    public var logFile: String? = nil
    public var sqlDir = "sql"
    public var alipay = AlipaySettings()
    /// `LUFFY_CORS_ORIGINS`: the front ends' origins that may call the API from a browser
    /// (README, "CORS"); empty: no CORS at all.
    public var corsOrigins = CORSOrigins()
    /// `LUFFY_REFUND_WINDOW_DAYS`: days after payment in which a buyer may ask for a refund
    /// (README, "Refunds"); staff may refund at any time.
    public var refundWindowDays = 7
    /// `LUFFY_RECONCILE_AT`: from this time of day (shop time) `serve` reconciles yesterday's bill
    /// (README, "Reconciliation"); `off`: never.
    public var reconcileAt = ReconcileAt(minutes: 10 * 60 + 30)
    /// `LUFFY_RECONCILE_RETRY` (seconds): how long `serve` waits before asking again for a bill that
    /// is not ready or could not be fetched.
    public var reconcileRetry = 600
    /// `LUFFY_RECONCILE_MAX_BYTES`: the largest bill zip downloaded (what it may unpack to is the
    /// bill parser's own limit).
    public var reconcileMaxBytes = 256 << 20
    /// `LUFFY_MEDIA_URL`: the root URL of the shop's images; every course cover is answered under it
    /// (README, "Configuration").
    public var mediaURL = MediaURL.localDefault

    public init() {}

    /// Reads `LUFFY_CONFIG` (if set) and then the environment.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        try Settings(values: SettingValues.load(environment: environment).values)
    }

    public init(values: [String: String]) throws {
        let reader = SettingValues(values)
        let text = reader.text
        let int = reader.int
        if let v = text("LUFFY_DB_HOST") { dbHost = v }
        if let v = try int("LUFFY_DB_PORT", 1...65535) { dbPort = UInt32(v) }
        dbSocket = text("LUFFY_DB_SOCKET")
        if let v = text("LUFFY_DB_USER") { dbUser = v }
        if let v = values["LUFFY_DB_PASSWORD"] { dbPassword = v }
        if let v = text("LUFFY_DB_NAME") { dbName = v }
        if let v = text("LUFFY_DB_NODES") { dbNodes = try DatabaseNode.list(parsing: v, key: "LUFFY_DB_NODES") }
        if let raw = text("LUFFY_DB_WRITE_MODE") {
            guard let v = DatabaseWriteMode(rawValue: raw) else {
                throw ConfigError.invalid(key: "LUFFY_DB_WRITE_MODE", value: raw, expected: "spread or single")
            }
            dbWriteMode = v
        }
        if let v = try int("LUFFY_THREADS", 1...256) { threads = v }
        // Default: a quarter of the workers. Always fewer than all of them, so that a slow gateway
        // leaves workers for everything else (a single worker cannot keep one free).
        gatewayConcurrency = max(1, threads / 4)
        if let raw = text("LUFFY_GATEWAY_CONCURRENCY") {
            let most = max(1, threads - 1)
            guard let v = Int(raw), (1...most).contains(v) else {
                throw ConfigError.invalid(
                    key: "LUFFY_GATEWAY_CONCURRENCY", value: raw,
                    expected: "an integer in 1...\(most) (fewer than LUFFY_THREADS=\(threads))")
            }
            gatewayConcurrency = v
        }
        fcgiSocket = text("LUFFY_FCGI_SOCKET")
        if let v = try int("LUFFY_FCGI_READ_TIMEOUT", 1...300) { fcgiReadTimeout = v }
        if let v = try int("LUFFY_FCGI_MAX_PARAMS", 4096...(16 << 20)) { fcgiMaxParams = v }
        fcgiSocketGroup = text("LUFFY_FCGI_SOCKET_GROUP")
        if let v = values["LUFFY_JWT_SECRET"] { jwtSecret = v }
        if let v = try int("LUFFY_MAX_BODY", 1024...(64 << 20)) { maxBody = v }
        if let v = try int("LUFFY_ORDER_TIMEOUT", 60...86_400) { orderTimeout = .seconds(v) }
        if let v = try int("LUFFY_SWEEP_INTERVAL", 0...86_400) { sweepInterval = v }
        if let v = try int("LUFFY_REFUND_INTERVAL", 0...86_400) { refundInterval = v }
        if let v = try int("LUFFY_CREDIT_RATIO", 1...1_000_000) { creditRatio = v }
        if let v = try reader.timeZone("LUFFY_TIMEZONE") { timeZone = v }
        if let v = try reader.logLevel("LUFFY_LOG_LEVEL") { logLevel = v }
        logFile = text("LUFFY_LOG_FILE")
        if let v = text("LUFFY_SQL_DIR") { sqlDir = v }
        alipay = try AlipaySettings(reader)
        if let v = text("LUFFY_CORS_ORIGINS") { corsOrigins = try CORSOrigins(parsing: v, key: "LUFFY_CORS_ORIGINS") }
        if let v = try int("LUFFY_REFUND_WINDOW_DAYS", 0...3650) { refundWindowDays = v }
        if let raw = text("LUFFY_RECONCILE_AT") {
            guard let v = ReconcileAt(parsing: raw) else {
                throw ConfigError.invalid(key: "LUFFY_RECONCILE_AT", value: raw, expected: "HH:MM (shop time) or off")
            }
            reconcileAt = v
        }
        if let v = try int("LUFFY_RECONCILE_RETRY", 1...86_400) { reconcileRetry = v }
        if let v = try int("LUFFY_RECONCILE_MAX_BYTES", (1 << 20)...(1 << 30)) { reconcileMaxBytes = v }
        if let v = text("LUFFY_MEDIA_URL") { mediaURL = try MediaURL(parsing: v, key: "LUFFY_MEDIA_URL") }
    }

    /// The JWT secret, or a clear start-up error: a service that verifies tokens must not run without one.
    public func requireJWTSecret() throws -> String {
        guard jwtSecret.utf8.count >= 16 else {
            throw ConfigError.invalid(key: "LUFFY_JWT_SECRET", value: "(hidden)", expected: "a secret of at least 16 bytes")
        }
        return jwtSecret
    }

    /// `+08:00` style offset of the shop's zone now, for the database session's `time_zone`.
    public var utcOffset: String {
        let seconds = timeZone.secondsFromGMT(for: Date())
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return String(format: "%@%02d:%02d", sign, minutes / 60, minutes % 60)
    }
}
