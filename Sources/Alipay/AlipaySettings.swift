public import LuffyCore

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

    /// `LUFFY_ALIPAY_*`, read the same way by the service and the sandbox.
    public init(_ reader: SettingValues) throws {
        let text = reader.text
        appID = text("LUFFY_ALIPAY_APP_ID")
        if let v = text("LUFFY_ALIPAY_GATEWAY") { gateway = v }
        appPrivateKeyPath = text("LUFFY_ALIPAY_APP_PRIVATE_KEY")
        alipayPublicKeyPath = text("LUFFY_ALIPAY_PUBLIC_KEY")
        sellerID = text("LUFFY_ALIPAY_SELLER_ID")
        if let v = text("LUFFY_ALIPAY_RETURN_URL") { returnURL = v }
        if let v = text("LUFFY_ALIPAY_NOTIFY_URL") { notifyURL = v }
        if let v = try reader.int("LUFFY_ALIPAY_TIMEOUT", 1...60) { timeout = v }
    }
}
