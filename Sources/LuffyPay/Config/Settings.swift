import Foundation

/// Everything deployment-specific, read from the environment and an optional KEY=VALUE file
/// (`LUFFY_CONFIG`); the environment wins so systemd drop-ins can override the file.
public struct Settings: Sendable {
    public var dbHost = "127.0.0.1"
    public var dbPort: UInt32 = 3306
    public var dbSocket: String? = nil
    public var dbUser = "luffy"
    public var dbPassword = ""
    public var dbName = "luffycity"
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
    public var orderTimeout = 900
    public var sweepInterval = 30
    public var creditRatio = 10
    public var timeZone = TimeZone(identifier: "Asia/Shanghai")!
    public var logLevel = LogLevel.info
    public var logFile: String? = nil
    public var sqlDir = "sql"
    public var alipay = AlipaySettings()

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
        if let v = try int("LUFFY_THREADS", 1...256) { threads = v }
        // Default: a quarter of the workers. Always fewer than all of them, so that a slow gateway
        // leaves workers for everything else (a single worker cannot keep one free).
        gatewayConcurrency = max(1, threads / 4)
        if let raw = text("LUFFY_GATEWAY_CONCURRENCY") {
            let most = max(1, threads - 1)
            guard let v = Int(raw), (1...most).contains(v) else {
                throw ConfigError.invalid(key: "LUFFY_GATEWAY_CONCURRENCY", value: raw,
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
        if let v = try int("LUFFY_ORDER_TIMEOUT", 60...86_400) { orderTimeout = v }
        if let v = try int("LUFFY_SWEEP_INTERVAL", 0...86_400) { sweepInterval = v }
        if let v = try int("LUFFY_CREDIT_RATIO", 1...1_000_000) { creditRatio = v }
        if let v = text("LUFFY_TIMEZONE") {
            guard let zone = TimeZone(identifier: v) else {
                throw ConfigError.invalid(key: "LUFFY_TIMEZONE", value: v, expected: "an IANA zone name")
            }
            timeZone = zone
        }
        if let v = text("LUFFY_LOG_LEVEL") {
            guard let level = LogLevel(name: v) else {
                throw ConfigError.invalid(key: "LUFFY_LOG_LEVEL", value: v, expected: "debug, info, warning or error")
            }
            logLevel = level
        }
        logFile = text("LUFFY_LOG_FILE")
        if let v = text("LUFFY_SQL_DIR") { sqlDir = v }
        alipay.appID = text("LUFFY_ALIPAY_APP_ID")
        if let v = text("LUFFY_ALIPAY_GATEWAY") { alipay.gateway = v }
        alipay.appPrivateKeyPath = text("LUFFY_ALIPAY_APP_PRIVATE_KEY")
        alipay.alipayPublicKeyPath = text("LUFFY_ALIPAY_PUBLIC_KEY")
        alipay.sellerID = text("LUFFY_ALIPAY_SELLER_ID")
        if let v = text("LUFFY_ALIPAY_RETURN_URL") { alipay.returnURL = v }
        if let v = text("LUFFY_ALIPAY_NOTIFY_URL") { alipay.notifyURL = v }
        if let v = try int("LUFFY_ALIPAY_TIMEOUT", 1...60) { alipay.timeout = v }
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

    static func parseFile(at path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError.unreadable(path: path)
        }
        return parse(text)
    }

    /// `KEY=VALUE` lines; `#` comments, blank lines, optional `export ` and surrounding quotes.
    static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for rawLine in text.split(ascii: "\n") {
            var line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)[...]
            if line.isEmpty || line.dropping(asciiPrefix: "#") != nil { continue }
            if let rest = line.dropping(asciiPrefix: "export ") { line = rest }
            guard case let (name, value?) = line.cut(atFirstASCII: "=") else { continue }
            let key = name.trimmingCharacters(in: .whitespaces)
            var setting = value.trimmingCharacters(in: .whitespaces)
            let bytes = setting.utf8
            if bytes.count >= 2, let first = bytes.first, first == UInt8(ascii: "\"") || first == UInt8(ascii: "'"), bytes.last == first {
                setting = String(setting[bytes.index(after: bytes.startIndex)..<bytes.index(before: bytes.endIndex)])
            }
            values[key] = setting
        }
        return values
    }
}

/// `LUFFY_*` settings as read from the `LUFFY_CONFIG` file and the environment, with the typed
/// reads every settings struct of the project uses (the app's and the sandbox's).
public struct SettingValues: Sendable {
    /// Raw values: secrets are taken from here exactly as given.
    public let values: [String: String]

    public init(_ values: [String: String]) { self.values = values }

    /// The file named by `LUFFY_CONFIG` (if set), then the environment, which wins so that
    /// systemd drop-ins can override the file.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SettingValues {
        var values: [String: String] = [:]
        if let path = environment["LUFFY_CONFIG"], !path.isEmpty {
            values = try Settings.parseFile(at: path)
        }
        for (key, value) in environment where key.hasPrefix("LUFFY_") { values[key] = value }
        return SettingValues(values)
    }

    /// The value without surrounding blanks; empty counts as unset.
    public func text(_ key: String) -> String? {
        guard let v = values[key]?.trimmingWhitespace(), !v.isEmpty else { return nil }
        return v
    }

    public func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let raw = text(key) else { return nil }
        guard let v = Int(raw), range.contains(v) else {
            throw ConfigError.invalid(key: key, value: raw, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }
}

/// Alipay's side of the configuration (README, "Configuration"). Key paths and the app id have
/// no default: a service that takes payments must be told whose they are.
public struct AlipaySettings: Sendable {
    public var appID: String?
    /// Production `https://openapi.alipay.com/gateway.do`; Alipay's sandbox
    /// `https://openapi-sandbox.dl.alipaydev.com/gateway.do`; or the local alipay-sandbox.
    public var gateway = "https://openapi.alipay.com/gateway.do"
    /// PEM, PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`).
    public var appPrivateKeyPath: String?
    /// PEM, or the bare base64 line Alipay's console shows.
    public var alipayPublicKeyPath: String?
    /// When set, notifications for another seller are refused.
    public var sellerID: String?
    public var returnURL = "http://127.0.0.1:8080/alipay"
    public var notifyURL = "http://127.0.0.1:8080/payments/alipay/notify"
    /// Seconds for one gateway call, connect to answer.
    public var timeout = 5

    public init() {}
}

public enum ConfigError: Error, CustomStringConvertible {
    case invalid(key: String, value: String, expected: String)
    case unreadable(path: String)

    public var description: String {
        switch self {
        case let .invalid(key, value, expected): return "\(key)=\(value) is not valid: expected \(expected)"
        case let .unreadable(path): return "cannot read the config file \(path)"
        }
    }
}
