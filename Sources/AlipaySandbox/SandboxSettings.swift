public import Alipay
public import Foundation
public import Logging
import LuffyCore

/// The sandbox's configuration, read like the app's: the `KEY=VALUE` file named by `LUFFY_CONFIG`,
/// then the environment (which wins). Shared keys (`LUFFY_ALIPAY_APP_ID`, `LUFFY_ALIPAY_SELLER_ID`,
/// `LUFFY_TIMEZONE`, `LUFFY_LOG_LEVEL`) mean what they mean to the app and are parsed by the app's
/// `Settings`, so both sides of the stack agree on them.
public struct SandboxSettings: Sendable {
    /// `LUFFY_SANDBOX_FCGI_SOCKET`: unix socket to listen on; nil: the socket inherited as fd 0.
    public var socketPath: String?
    /// `LUFFY_SANDBOX_THREADS`: FastCGI worker threads.
    public var threads = 4
    /// `LUFFY_SANDBOX_PRIVATE_KEY`: the "Alipay" private key the sandbox signs with.
    public var privateKeyPath: String?
    /// `LUFFY_SANDBOX_APP_PUBLIC_KEY`: the app's public key, for the app's request signatures.
    public var appPublicKeyPath: String?
    /// `LUFFY_SANDBOX_NOTIFY_DELAYS`: seconds to wait before each retry of an unacknowledged
    /// notification (Alipay's 4m,10m,10m,1h,2h,6h,15h, compressed).
    public var notifyDelays = [1, 2, 4, 8, 16]
    /// `LUFFY_SANDBOX_NOTIFY_TIMEOUT`: seconds for one notification POST.
    public var notifyTimeout = 5
    /// `LUFFY_ALIPAY_APP_ID`: the only app the sandbox serves.
    public var appID: String?
    /// `LUFFY_ALIPAY_SELLER_ID`: the seller of every trade (`seller_id` in returns and notifications).
    public var sellerID = SandboxSettings.defaultSellerID
    /// `LUFFY_TIMEZONE`: zone of every time the sandbox reads or writes (Alipay's are Beijing time).
    public var timeZone = TimeZone(identifier: "Asia/Shanghai")!
    /// `LUFFY_LOG_LEVEL`.
    public var logLevel = Logger.Level.info
    /// `LUFFY_SANDBOX_LOG_FILE`: append logs here; empty: stderr. (Not `LUFFY_LOG_FILE`: that is the app's.)
    public var logFile: String?
    /// `LUFFY_SANDBOX_STATE_FILE`: the trades and refunds on disk (they survive a restart); empty:
    /// in memory only.
    public var stateFile: String?
    /// `LUFFY_SANDBOX_REFUND_NOTIFY`, `LUFFY_SANDBOX_REFUND_MIN_GAP`, `LUFFY_SANDBOX_REFUND_FAULT`:
    /// the refund settings at start (tests change them with `POST /sandbox/refund-settings`).
    public var refunds = RefundSettings.Values()
    /// `LUFFY_SANDBOX_REFUND_DELAY_MS`: every refund answer held this long (0: off).
    public var refundDelayMilliseconds = 0

    public static let defaultSellerID = "2088000000000001"

    public init() {}

    /// Reads `LUFFY_CONFIG` (if set), then the environment's `LUFFY_*` variables.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SandboxSettings {
        try SandboxSettings(values: SettingValues.load(environment: environment).values)
    }

    public init(values: [String: String]) throws {
        let reader = SettingValues(values)
        let alipay = try AlipaySettings(reader)
        let text = reader.text
        socketPath = text("LUFFY_SANDBOX_FCGI_SOCKET")
        if let v = try reader.int("LUFFY_SANDBOX_THREADS", 1...64) { threads = v }
        privateKeyPath = text("LUFFY_SANDBOX_PRIVATE_KEY")
        appPublicKeyPath = text("LUFFY_SANDBOX_APP_PUBLIC_KEY")
        if let raw = text("LUFFY_SANDBOX_NOTIFY_DELAYS") {
            guard let delays = SandboxSettings.parseDelays(raw) else {
                throw ConfigError.invalid(
                    key: "LUFFY_SANDBOX_NOTIFY_DELAYS", value: raw,
                    expected: "comma-separated seconds (0...86400), e.g. 1,2,4,8,16, or 'none'")
            }
            notifyDelays = delays
        }
        if let v = try reader.int("LUFFY_SANDBOX_NOTIFY_TIMEOUT", 1...60) { notifyTimeout = v }
        appID = alipay.appID
        if let seller = alipay.sellerID { sellerID = seller }
        if let zone = try reader.timeZone("LUFFY_TIMEZONE") { timeZone = zone }
        if let level = try reader.logLevel("LUFFY_LOG_LEVEL") { logLevel = level }
        logFile = text("LUFFY_SANDBOX_LOG_FILE")
        stateFile = text("LUFFY_SANDBOX_STATE_FILE")
        if let v = try reader.int("LUFFY_SANDBOX_REFUND_NOTIFY", 0...1) { refunds.notify = v == 1 }
        if let v = try reader.int("LUFFY_SANDBOX_REFUND_MIN_GAP", 0...RefundSettings.maxMinimumGap) { refunds.minimumGap = v }
        if let raw = text("LUFFY_SANDBOX_REFUND_FAULT") {
            guard let fault = RefundFault(rawValue: raw) else {
                throw ConfigError.invalid(
                    key: "LUFFY_SANDBOX_REFUND_FAULT", value: raw,
                    expected: RefundFault.allCases.map(\.rawValue).joined(separator: ", "))
            }
            refunds.fault = fault
        }
        if let v = try reader.int("LUFFY_SANDBOX_REFUND_DELAY_MS", 0...Brownout.maxMilliseconds) { refundDelayMilliseconds = v }
    }

    /// `1,2,4,8,16` → `[1, 2, 4, 8, 16]`; `none` → no retries.
    public static func parseDelays(_ text: String) -> [Int]? {
        if text.lowercased() == "none" { return [] }
        var delays: [Int] = []
        for part in text.split(ascii: ",", omittingEmptySubsequences: false) {
            guard let v = Int(part.trimmingCharacters(in: .whitespaces)), (0...86_400).contains(v) else { return nil }
            delays.append(v)
        }
        return delays.count <= 32 ? delays : nil
    }
}

/// Why the sandbox cannot start; the messages name the setting to fix.
public enum SandboxSetupError: Error, CustomStringConvertible {
    case missing(key: String, what: String)
    case key(key: String, underlying: String)

    public var description: String {
        switch self {
        case let .missing(key, what):
            return "\(key) is not set: \(what) (scripts/keys.sh DIR makes dev keys; see keys/README.md)"
        case let .key(key, underlying):
            return "\(key): \(underlying)"
        }
    }
}

/// The two keys the sandbox works with, loaded once at start and shared by every thread.
public struct SandboxKeys: Sendable {
    /// The "Alipay" private key: signs returns, notifications and gateway responses.
    public let alipayPrivate: RSAPrivateKey
    /// The app's public key: verifies the app's requests.
    public let appPublic: RSAPublicKey

    public init(alipayPrivate: RSAPrivateKey, appPublic: RSAPublicKey) {
        self.alipayPrivate = alipayPrivate
        self.appPublic = appPublic
    }

    /// Loads both keys named by the settings; a missing setting or an unreadable key is an error
    /// naming the setting and the file.
    public static func load(_ settings: SandboxSettings) throws -> SandboxKeys {
        guard let privatePath = settings.privateKeyPath else {
            throw SandboxSetupError.missing(
                key: "LUFFY_SANDBOX_PRIVATE_KEY", what: "the \"Alipay\" private key the sandbox signs with")
        }
        guard let publicPath = settings.appPublicKeyPath else {
            throw SandboxSetupError.missing(
                key: "LUFFY_SANDBOX_APP_PUBLIC_KEY", what: "the app's public key the sandbox verifies requests with")
        }
        let alipayPrivate: RSAPrivateKey
        let appPublic: RSAPublicKey
        do { alipayPrivate = try RSAPrivateKey.load(path: privatePath) } catch {
            throw SandboxSetupError.key(key: "LUFFY_SANDBOX_PRIVATE_KEY", underlying: String(describing: error))
        }
        do { appPublic = try RSAPublicKey.load(path: publicPath) } catch {
            throw SandboxSetupError.key(key: "LUFFY_SANDBOX_APP_PUBLIC_KEY", underlying: String(describing: error))
        }
        return SandboxKeys(alipayPrivate: alipayPrivate, appPublic: appPublic)
    }
}
