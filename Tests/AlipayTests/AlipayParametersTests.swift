import Foundation
import LuffyTestSupport
import Testing

@testable import Alipay
@testable import LuffyCore

@Suite struct AlipayParametersTests {
    /// Values with spaces, `+`, `&`, `=`, Chinese text and empty values; keys whose byte order
    /// differs from a case-insensitive order (`appId` < `app_id` < `apple`).
    let awkward: [(String, String)] = [
        ("subject", "Python 全栈 + 入门 & more=1"),
        ("sign", "SHOULD-NOT-BE-SIGNED"),
        ("app_id", "2021000000000001"),
        ("empty", ""),
        ("appId", "x"),
        ("apple", "a=b&c=d"),
        ("sign_type", "RSA2"),
        ("Zeta", "z"),
        ("timestamp", "2024-05-01 12:00:00"),
    ]

    @Test func signingStringSortsInByteOrderWithRawValues() {
        #expect(
            AlipayParameters.signingString(awkward)
                == "Zeta=z&appId=x&app_id=2021000000000001&apple=a=b&c=d&sign_type=RSA2&subject=Python 全栈 + 入门 & more=1&timestamp=2024-05-01 12:00:00"
        )
        #expect(
            AlipayParameters.signingString(Dictionary(uniqueKeysWithValues: awkward).map { ($0.key, $0.value) })
                == AlipayParameters.signingString(awkward))
        #expect(AlipayParameters.signingString(awkward.reversed()) == AlipayParameters.signingString(awkward))
    }

    @Test func verificationStringAlsoDropsSignType() {
        #expect(
            AlipayParameters.verificationString(awkward)
                == "Zeta=z&appId=x&app_id=2021000000000001&apple=a=b&c=d&subject=Python 全栈 + 入门 & more=1&timestamp=2024-05-01 12:00:00"
        )
        #expect(
            AlipayParameters.verificationString(Dictionary(uniqueKeysWithValues: awkward).map { ($0.key, $0.value) })
                == AlipayParameters.verificationString(awkward))
    }

    @Test func bizContentIsOrderedJSONWithAStringAmount() {
        let text = AlipayParameters.bizContent(
            outTradeNo: "20240501120000000001", totalAmount: Fen(99800),
            subject: "路飞学城 \"Python\" 课程", timeExpire: "2024-05-01 12:15:00")
        #expect(
            text
                == #"{"out_trade_no":"20240501120000000001","total_amount":"998.00","subject":"路飞学城 \"Python\" 课程","product_code":"FAST_INSTANT_TRADE_PAY","time_expire":"2024-05-01 12:15:00"}"#
        )
        let small = AlipayParameters.bizContent(outTradeNo: "1", totalAmount: Fen(5), subject: "s", timeExpire: "t")
        #expect(small.contains(#""total_amount":"0.05""#))
        #expect((try? JSON.parse(Array(text.utf8)))?["subject"] == .string("路飞学城 \"Python\" 课程"))
    }

    @Test func pagePayParametersAreTheCommonSet() {
        let params = AlipayParameters.pagePayParameters(
            appID: "2021", returnURL: "https://shop/alipay", notifyURL: "https://shop/notify",
            timestamp: "2024-05-01 12:00:00", bizContent: "{}")
        #expect(
            params.map(\.0) == [
                "app_id", "method", "format", "charset", "sign_type", "timestamp", "version",
                "return_url", "notify_url", "biz_content",
            ])
        #expect(
            params.map(\.1) == [
                "2021", "alipay.trade.page.pay", "JSON", "utf-8", "RSA2", "2024-05-01 12:00:00", "1.0",
                "https://shop/alipay", "https://shop/notify", "{}",
            ])
    }

    @Test func signedQueryMatchesOpenSSLAndRoundTrips() throws {
        let keys = try TestKeys.get()
        let biz = AlipayParameters.bizContent(
            outTradeNo: "20240501120000000001", totalAmount: Fen(157910),
            subject: "Python 全栈 + 入门 & more=1", timeExpire: "2024-05-01 12:15:00")
        let params =
            AlipayParameters.pagePayParameters(
                appID: "2021000000000001", returnURL: "https://shop.example/alipay?from=pay&x=1",
                notifyURL: "https://shop.example/payments/alipay/notify",
                timestamp: "2024-05-01 12:00:00", bizContent: biz) + [("passback_params", "")]
        let query = try AlipayParameters.signedQuery(params, key: keys.app)
        #expect(!query.contains(" ") && !query.contains("+") && !query.contains("{"))
        #expect(query.contains("timestamp=2024-05-01%2012%3A00%3A00"))

        let decoded = URLCoding.decodeForm(query)
        #expect(decoded.dropLast().map(\.0) == params.map(\.0))
        #expect(decoded.dropLast().map(\.1) == params.map(\.1))
        #expect(decoded.last?.0 == "sign")
        let signature = try #require(Base64.decode(decoded.last?.1 ?? ""))

        let signing = Array(AlipayParameters.signingString(params).utf8)
        #expect(!AlipayParameters.signingString(params).contains("passback_params"))
        let scratch = try OpenSSLScratch()
        #expect(signature == (try scratch.opensslSign(signing, privateKeyPEM: keys.appPrivatePEM)))
        #expect(try scratch.opensslVerifies(signature, data: signing, publicKeyPEM: keys.appPublicPEM))

        // An existing `sign` is replaced, never signed or duplicated.
        let resigned = try AlipayParameters.signed(params + [("sign", "stale")], key: keys.app)
        #expect(resigned.filter { $0.0 == "sign" }.map(\.1) == [Base64.encode(signature)])
    }

    /// Return parameters as Alipay would send them: signed by "Alipay" (openssl) over the
    /// verification string, form-encoded with `+` for spaces, decoded by the project's decoder.
    func alipayReturn(_ keys: TestKeys, tweak: (inout [(String, String)]) -> Void = { _ in }) throws -> [(String, String)] {
        var params: [(String, String)] = [
            ("charset", "utf-8"), ("out_trade_no", "20240501120000000001"), ("method", "alipay.trade.page.pay.return"),
            ("total_amount", "1579.10"), ("sign_type", "RSA2"), ("auth_app_id", "2021000000000001"),
            ("app_id", "2021000000000001"), ("version", "1.0"), ("trade_no", "2024050122001400000000000001"),
            ("seller_id", "2088000000000001"), ("timestamp", "2024-05-01 12:01:02"),
            ("subject", "Python 全栈 + 入门 & more=1"), ("passback_params", ""),
        ]
        // Spelled out, not computed: sorted, without sign_type and the empty passback_params.
        let signing =
            "app_id=2021000000000001&auth_app_id=2021000000000001&charset=utf-8&method=alipay.trade.page.pay.return"
            + "&out_trade_no=20240501120000000001&seller_id=2088000000000001&subject=Python 全栈 + 入门 & more=1"
            + "&timestamp=2024-05-01 12:01:02&total_amount=1579.10&trade_no=2024050122001400000000000001&version=1.0"
        let signature = try OpenSSLScratch().opensslSign(Array(signing.utf8), privateKeyPEM: keys.alipayPrivatePEM)
        params.append(("sign", Base64.encode(signature)))
        tweak(&params)
        let query = URLCoding.encodeForm(params).replacingOccurrences(of: "%20", with: "+")
        return URLCoding.decodeForm(query)
    }

    @Test func verifiesAReturnSignedByOpenSSL() throws {
        let keys = try TestKeys.get()
        let alipayPublic = try RSAPublicKey(base64: keys.alipayPublicBase64)
        let params = try alipayReturn(keys)
        #expect(params.first { $0.0 == "subject" }?.1 == "Python 全栈 + 入门 & more=1")
        #expect(AlipayParameters.verify(params: params, publicKey: alipayPublic))
        #expect(
            AlipayParameters.verify(
                params: Dictionary(uniqueKeysWithValues: params).map { ($0.key, $0.value) }, publicKey: alipayPublic))
        // Empty values are not covered by the signature.
        #expect(AlipayParameters.verify(params: params + [("fund_bill_list", "")], publicKey: alipayPublic))
    }

    @Test(arguments: [
        "tampered amount", "tampered subject", "added value", "sign_type RSA", "sign_type rsa2", "no sign_type",
        "no sign", "empty sign", "sign not base64", "duplicate amount", "duplicate sign",
    ])
    func refusesForgedReturns(case name: String) throws {
        let keys = try TestKeys.get()
        let alipayPublic = try RSAPublicKey(base64: keys.alipayPublicBase64)
        func set(_ key: String, _ value: String?) -> (inout [(String, String)]) -> Void {
            { params in
                params.removeAll { $0.0 == key }
                if let value { params.append((key, value)) }
            }
        }
        let tweak: (inout [(String, String)]) -> Void
        switch name {
        case "tampered amount": tweak = set("total_amount", "0.01")
        case "tampered subject": tweak = set("subject", "Python 全栈 + 入门 & more=2")
        case "added value": tweak = set("buyer_id", "2088")
        case "sign_type RSA": tweak = set("sign_type", "RSA")
        case "sign_type rsa2": tweak = set("sign_type", "rsa2")
        case "no sign_type": tweak = set("sign_type", nil)
        case "no sign": tweak = set("sign", nil)
        case "empty sign": tweak = set("sign", "")
        case "sign not base64": tweak = { params in params = params.map { $0.0 == "sign" ? ($0.0, "!" + $0.1) : $0 } }
        case "duplicate amount": tweak = { $0.append(("total_amount", "0.01")) }
        case "duplicate sign": tweak = { params in params.append(("sign", params.first { $0.0 == "sign" }!.1)) }
        default: Issue.record("unknown case \(name)"); return
        }
        #expect(!AlipayParameters.verify(params: try alipayReturn(keys, tweak: tweak), publicKey: alipayPublic))
    }

    @Test func refusesAReturnVerifiedWithTheWrongKey() throws {
        let keys = try TestKeys.get()
        let params = try alipayReturn(keys)
        #expect(!AlipayParameters.verify(params: params, publicKey: keys.app.publicKey))
        #expect(AlipayParameters.verify(params: params, publicKey: keys.alipay.publicKey))
    }
}

@Suite struct AlipayResponseTests {
    /// As received: whitespace, nested objects and arrays, escaped quotes and backslashes, braces
    /// and brackets inside strings, Chinese text, and a number.
    static let content =
        #"{ "code" : "10000", "msg":"Success","buyer_logon_id":"ab***@example.com",  "out_trade_no":"2024\"}{0501","nested": {"a": [1, {"b": "}]\\"}, [ ]], "c" : null, "d": "\u4e2d{"},"subject":"Python 全栈 {课程} [x]","total_amount":"1579.10","point_amount": 0, "trade_status":"TRADE_SUCCESS" }"#

    static func body(content: String, sign: String, signFirst: Bool = false) -> [UInt8] {
        let response = "\"alipay_trade_query_response\" :\t" + content
        let signMember = "\"sign\": \"" + sign.replacingOccurrences(of: "/", with: "\\/") + "\""
        let other = "\"alipay_cert_sn\": [\"}\", {\"x\": \"]\\\"{\"}]"
        let members = signFirst ? [signMember, other, response] : [other, response, signMember]
        return Array(("{\n  " + members.joined(separator: " ,\n  ") + "\n}\n").utf8)
    }

    func signed(_ keys: TestKeys, content: String = content) throws -> String {
        Base64.encode(try OpenSSLScratch().opensslSign(Array(content.utf8), privateKeyPEM: keys.alipayPrivatePEM))
    }

    @Test(arguments: [false, true])
    func extractsTheExactBytesAsReceived(signFirst: Bool) throws {
        let body = Self.body(content: Self.content, sign: "ab/cd+ef==", signFirst: signFirst)
        let (content, sign) = try AlipayResponse.extract(body: body, key: "alipay_trade_query_response")
        #expect(String(decoding: content, as: UTF8.self) == Self.content)
        #expect(sign == "ab/cd+ef==")
    }

    @Test func extractsScalarAndArrayValues() throws {
        let body = Array(#"{"a" : 12.5e3 ,"b":[ "]", {"c":"\\"} ],"c":true,"d" : "x\"y" }"#.utf8)
        var scanner = RawJSONScanner(bytes: body)
        let members = try scanner.topLevelMembers().map { ($0.key, String(decoding: body[$0.value], as: UTF8.self)) }
        #expect(members.map(\.0) == ["a", "b", "c", "d"])
        #expect(members.map(\.1) == ["12.5e3", #"[ "]", {"c":"\\"} ]"#, "true", #""x\"y""#])
    }

    @Test(arguments: [false, true])
    func returnsTheObjectOnlyWhenVerified(signFirst: Bool) throws {
        let keys = try TestKeys.get()
        let alipayPublic = try RSAPublicKey(pem: keys.alipayPublicPEM)
        let body = Self.body(content: Self.content, sign: try signed(keys), signFirst: signFirst)
        let object = try AlipayResponse.verified(body: body, method: "alipay.trade.query", publicKey: alipayPublic)
        #expect(object["trade_status"] == .string("TRADE_SUCCESS"))
        #expect(object["total_amount"]?.stringValue.flatMap { Fen(decimal: $0) } == Fen(157910))
        #expect(object["out_trade_no"] == .string("2024\"}{0501"))
        #expect(object["nested"]?["d"] == .string("中{"))

        #expect(throws: AlipayResponseError.invalidSignature) {
            try AlipayResponse.verified(body: body, method: "alipay.trade.query", publicKey: keys.app.publicKey)
        }
        #expect(throws: AlipayResponseError.missingResponse("alipay_trade_close_response")) {
            try AlipayResponse.verified(body: body, method: "alipay.trade.close", publicKey: alipayPublic)
        }
    }

    @Test func refusesReserializedOrTamperedContent() throws {
        let keys = try TestKeys.get()
        let alipayPublic = try RSAPublicKey(pem: keys.alipayPublicPEM)
        let sign = try signed(keys)
        // The same object without the whitespace it was signed with.
        let compact = String(decoding: try JSON.parse(Array(Self.content.utf8)).serialized, as: UTF8.self)
        let tampered = Self.content.replacingOccurrences(of: "1579.10", with: "1579.11")
        for content in [compact, tampered] {
            #expect(throws: AlipayResponseError.invalidSignature) {
                try AlipayResponse.verified(
                    body: Self.body(content: content, sign: sign), method: "alipay.trade.query", publicKey: alipayPublic)
            }
        }
        #expect(throws: AlipayResponseError.invalidSignature) {
            try AlipayResponse.verified(
                body: Self.body(content: Self.content, sign: "%%%"), method: "alipay.trade.query", publicKey: alipayPublic)
        }
    }

    @Test(arguments: [
        (#"{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed"}}"#, AlipayResponseError.missingSignature),
        (#"{"alipay_trade_query_response":{"code":"10000"},"sign":"AAAA","sign":"BBBB"}"#, .malformed),
        (#"{"alipay_trade_query_response":{"code":"10000"},"alipay_trade_query_response":{},"sign":"AAAA"}"#, .malformed),
        (#"{"alipay_trade_query_response":{"code":"10000"},"sign":42}"#, .malformed),
        (#"{"alipay_trade_query_response":{"code":"10000"},"sign":"AAAA""#, .malformed),
        (#"["alipay_trade_query_response"]"#, .malformed),
        ("<html>502 Bad Gateway</html>", .malformed),
        ("", .malformed),
        (
            #"{"error_response":{"code":"40002","msg":"Invalid Arguments"},"sign":"AAAA"}"#,
            .missingResponse("alipay_trade_query_response")
        ),
    ])
    func refusesMalformedBodies(body: String, error: AlipayResponseError) throws {
        let keys = try TestKeys.get()
        #expect(throws: error) {
            try AlipayResponse.verified(body: Array(body.utf8), method: "alipay.trade.query", publicKey: keys.alipay.publicKey)
        }
    }

    @Test func responseKeyFollowsTheMethod() {
        #expect(AlipayResponse.responseKey(method: "alipay.trade.query") == "alipay_trade_query_response")
        #expect(AlipayResponse.responseKey(method: "alipay.trade.refund") == "alipay_trade_refund_response")
    }
}
