public import LuffyCore

/// Alipay open-platform request parameters: Alipay's signing string and the signed page-pay link,
/// and verification of returns and notifications (Alipay's verification string). Pure: no I/O.
public enum AlipayParameters {
    public static let pagePayMethod = "alipay.trade.page.pay"
    public static let productCode = "FAST_INSTANT_TRADE_PAY"
    /// The only signature type issued and accepted: RSA-2048 with SHA-256.
    public static let signType = "RSA2"

    // MARK: Signing (Alipay's signing string)

    /// Every parameter except `sign` whose value is non-empty, sorted by key in byte order,
    /// `k=v` joined by `&`, raw (not URL-encoded) UTF-8 values.
    public static func signingString(_ params: [(String, String)]) -> String {
        joined(params.filter { $0.0 != "sign" && !$0.1.isEmpty })
    }

    /// `params` without any `sign`, followed by `sign`: base64 of RSA-SHA256 over the signing
    /// string. For page-pay links and gateway API calls alike.
    public static func signed(_ params: [(String, String)], key: RSAPrivateKey) throws -> [(String, String)] {
        let unsigned = params.filter { $0.0 != "sign" }
        let signature = try key.sign(Array(signingString(unsigned).utf8))
        return unsigned + [("sign", Base64.encode(signature))]
    }

    /// The signed parameters as a URL-encoded query (no leading `?`): the link is `gateway?` + this.
    public static func signedQuery(_ params: [(String, String)], key: RSAPrivateKey) throws -> String {
        URLCoding.encodeForm(try signed(params, key: key))
    }

    /// The common parameters of every Alipay open-platform request, in Alipay's documented order.
    public static func commonParameters(appID: String, method: String, timestamp: String) -> [(String, String)] {
        [
            ("app_id", appID), ("method", method), ("format", "JSON"), ("charset", "utf-8"),
            ("sign_type", signType), ("timestamp", timestamp), ("version", "1.0"),
        ]
    }

    /// The unsigned parameters of `alipay.trade.page.pay`. `timestamp` is `yyyy-MM-dd HH:mm:ss`.
    public static func pagePayParameters(
        appID: String, returnURL: String, notifyURL: String,
        timestamp: String, bizContent: String
    ) -> [(String, String)] {
        commonParameters(appID: appID, method: pagePayMethod, timestamp: timestamp)
            + [("return_url", returnURL), ("notify_url", notifyURL), ("biz_content", bizContent)]
    }

    /// The page-pay `biz_content` JSON text; the amount is a string with two decimals.
    public static func bizContent(outTradeNo: String, totalAmount: Fen, subject: String, timeExpire: String) -> String {
        let content: JSON = .object([
            ("out_trade_no", .string(outTradeNo)),
            ("total_amount", .string(totalAmount.description)),
            ("subject", .string(subject)),
            ("product_code", .string(productCode)),
            ("time_expire", .string(timeExpire)),
        ])
        return String(decoding: content.serialized, as: UTF8.self)
    }

    // MARK: Verification (Alipay's verification string)

    /// Without `sign` and `sign_type`, empty values dropped, sorted and joined like the signing
    /// string, over already-decoded values.
    public static func verificationString(_ params: [(String, String)]) -> String {
        joined(params.filter { $0.0 != "sign" && $0.0 != "sign_type" && !$0.1.isEmpty })
    }

    /// Verifies decoded return or notification parameters with Alipay's public key. Refused:
    /// no `sign`, `sign_type` other than exactly `RSA2` (or missing), a key given twice (which
    /// value the caller reads would be ambiguous), a `sign` that is not strict base64, and of
    /// course a signature that does not match.
    public static func verify(params: [(String, String)], publicKey: RSAPublicKey) -> Bool {
        var seen = Set<String>()
        for (key, _) in params where !seen.insert(key).inserted { return false }
        guard let sign = params.first(where: { $0.0 == "sign" })?.1,
            params.first(where: { $0.0 == "sign_type" })?.1 == signType,
            let signature = Base64.decode(sign), !signature.isEmpty
        else { return false }
        return publicKey.verify(signature: signature, data: Array(verificationString(params).utf8))
    }

    // MARK: Helpers

    /// Sorted by key in UTF-8 byte order (then by value, so the result never depends on input
    /// order), `k=v` joined by `&`.
    static func joined(_ params: [(String, String)]) -> String {
        params.sorted { a, b in
            if a.0.utf8.elementsEqual(b.0.utf8) { return a.1.utf8.lexicographicallyPrecedes(b.1.utf8) }
            return a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
        }
        .map { "\($0.0)=\($0.1)" }
        .joined(separator: "&")
    }
}
