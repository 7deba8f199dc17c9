import Foundation
import LuffyTestSupport
import Testing

@testable import Alipay
@testable import AlipaySandbox
@testable import LuffyCore

@Suite struct SandboxProtocolTests {
    func paidTrade(subject: String = "购买课程 \"Python\" & more=1") throws -> Trade {
        let store = TradeStore(time: Fixtures.time)
        _ = try store.open(
            PagePayOrder(
                outTradeNo: "202611220000000100000001", totalAmount: Fen(99800), subject: subject,
                timeExpire: nil, returnURL: "http://127.0.0.1:8080/alipay",
                notifyURL: "http://127.0.0.1:8080/payments/alipay/notify"), now: Fixtures.start)
        return try store.pay(outTradeNo: "202611220000000100000001", now: Fixtures.start + 30, notify: true)
    }

    // MARK: the app's requests

    @Test func acceptsTheAppsSignedPagePay() throws {
        let keys = try TestKeys.get()
        let params = try Fixtures.pagePayParameters(keys: keys)
        #expect(
            try SandboxProtocol.checkRequest(params, appID: Fixtures.appID, appKey: keys.appPublic)
                == AlipayParameters.pagePayMethod)
        let order = try SandboxProtocol.pagePayOrder(params, time: Fixtures.time)
        #expect(order.outTradeNo == "202611220000000100000001" && order.totalAmount == Fen(99800))
        #expect(order.subject == "购买课程" && order.timeExpire == Fixtures.start + 900)
        #expect(order.returnURL == "http://127.0.0.1:8080/alipay")
        #expect(order.notifyURL == "http://127.0.0.1:8080/payments/alipay/notify")
    }

    @Test func refusesWhatAlipayRefuses() throws {
        let keys = try TestKeys.get()
        let good = try Fixtures.pagePayParameters(keys: keys)
        func check(_ params: [(String, String)]) -> GatewayRefusal? {
            do { _ = try SandboxProtocol.checkRequest(params, appID: Fixtures.appID, appKey: keys.appPublic); return nil } catch {
                return error as? GatewayRefusal
            }
        }
        func replacing(_ key: String, _ value: String?) -> [(String, String)] {
            var p = good.filter { $0.0 != key }
            if let value { p.append((key, value)) }
            return p
        }
        // a signature by another key (the sandbox's own), a changed value, a broken signature
        let otherKey = try AlipayParameters.signed(good, key: keys.alipay)
        #expect(check(otherKey) == .invalidSignature)
        #expect(
            check(
                replacing("biz_content", good.first { $0.0 == "biz_content" }!.1.replacingOccurrences(of: "998.00", with: "0.01"))
            ) == .invalidSignature)
        #expect(check(replacing("sign", "not base64!")) == .invalidSignature)
        #expect(check(replacing("sign", nil)) == .missingSignature)
        #expect(check(replacing("sign_type", "RSA")) == .invalidSignType)
        #expect(check(replacing("sign_type", nil)) == .missingSignType)
        #expect(check(replacing("app_id", "2021000000000002")) == .invalidAppID)
        #expect(check(replacing("app_id", nil)) == .missingAppID)
        #expect(check(replacing("method", "alipay.trade.cancel")) == .invalidMethod)
        #expect(check(replacing("method", nil)) == .missingMethod)
        #expect(check(replacing("charset", "GBK")) == .invalidCharset)
        #expect(check(good + [("app_id", Fixtures.appID)]) == .duplicateParameter)
        // Alipay's signing string includes sign_type: a signature made without it does not verify
        let unsignedNoType = good.filter { $0.0 != "sign" && $0.0 != "sign_type" }
        let withoutType = try AlipayParameters.signed(unsignedNoType, key: keys.app) + [("sign_type", "RSA2")]
        #expect(check(withoutType) == .invalidSignature)
        #expect(check(good) == nil)
        #expect(check(Array(good.reversed())) == nil)
    }

    @Test func refusesBadBizContent() throws {
        let keys = try TestKeys.get()
        func order(_ biz: String) throws -> PagePayOrder {
            var params = AlipayParameters.pagePayParameters(
                appID: Fixtures.appID, returnURL: "r", notifyURL: "n",
                timestamp: "2026-11-22 10:00:00", bizContent: biz)
            params = try AlipayParameters.signed(params, key: keys.app)
            return try SandboxProtocol.pagePayOrder(params, time: Fixtures.time)
        }
        let base = #""out_trade_no":"A1","subject":"s","product_code":"FAST_INSTANT_TRADE_PAY""#
        #expect(try order("{\(base),\"total_amount\":\"0.01\"}").totalAmount == Fen(1))
        #expect(try order("{\(base),\"total_amount\":\"1.00\"}").timeExpire == nil)
        for bad in [
            "{\(base),\"total_amount\":998.00}", "{\(base),\"total_amount\":\"998\"}",
            "{\(base),\"total_amount\":\"998.5\"}", "{\(base),\"total_amount\":\"0.00\"}",
            "{\(base),\"total_amount\":\"-1.00\"}", "{\(base),\"total_amount\":\"100000000.01\"}",
            "{\(base),\"total_amount\":\"1.00\",\"time_expire\":\"2026-11-22T10:15:00\"}",
            #"{"out_trade_no":"A-1","subject":"s","product_code":"FAST_INSTANT_TRADE_PAY","total_amount":"1.00"}"#,
            #"{"out_trade_no":"A1","subject":"","product_code":"FAST_INSTANT_TRADE_PAY","total_amount":"1.00"}"#,
            #"{"out_trade_no":"A1","subject":"s","product_code":"QUICK_MSECURITY_PAY","total_amount":"1.00"}"#,
            "not json", "[1]",
        ] {
            #expect(throws: GatewayRefusal.self, "\(bad)") { try order(bad) }
        }
    }

    // MARK: what the sandbox signs

    @Test func returnParametersVerifyWithTheAlipayPublicKey() throws {
        let keys = try TestKeys.get()
        let trade = try paidTrade()
        let params = try SandboxProtocol.returnParameters(
            trade: trade, appID: Fixtures.appID, sellerID: Fixtures.sellerID,
            timestamp: "2026-11-22 10:00:30", key: keys.alipay)
        #expect(
            params.map(\.0) == [
                "charset", "out_trade_no", "method", "total_amount", "sign", "trade_no", "auth_app_id",
                "version", "app_id", "sign_type", "seller_id", "timestamp",
            ])
        let values = Dictionary(uniqueKeysWithValues: params)
        #expect(values["method"] == "alipay.trade.page.pay.return" && values["total_amount"] == "998.00")
        #expect(values["trade_no"] == trade.tradeNo && values["sign_type"] == "RSA2" && values["seller_id"] == Fixtures.sellerID)
        #expect(AlipayParameters.verify(params: params, publicKey: keys.alipayPublic))
        // as the browser brings it back: through the URL's query string, decoded once
        let location = SandboxProtocol.returnLocation(returnURL: "http://127.0.0.1:8080/alipay", parameters: params)
        #expect(location.hasPrefix("http://127.0.0.1:8080/alipay?charset=utf-8&"))
        let decoded = URLCoding.decodeForm(location.split(separator: "?", maxSplits: 1)[1])
        #expect(AlipayParameters.verify(params: decoded, publicKey: keys.alipayPublic))
        // not with another key, not when a value changes
        #expect(!AlipayParameters.verify(params: params, publicKey: keys.appPublic))
        let forged = params.map { $0.0 == "total_amount" ? ($0.0, "0.01") : $0 }
        #expect(!AlipayParameters.verify(params: forged, publicKey: keys.alipayPublic))
        #expect(SandboxProtocol.returnLocation(returnURL: "http://x/r?a=1", parameters: [("b", "2")]) == "http://x/r?a=1&b=2")
    }

    @Test func notificationParametersVerifyWithTheAlipayPublicKey() throws {
        let keys = try TestKeys.get()
        let trade = try paidTrade()
        let params = try SandboxProtocol.notificationParameters(
            trade: trade, appID: Fixtures.appID, sellerID: Fixtures.sellerID,
            notifyID: "abc", notifyTime: "2026-11-22 10:00:31",
            time: Fixtures.time, key: keys.alipay)
        let values = Dictionary(uniqueKeysWithValues: params)
        for key in [
            "notify_time", "notify_type", "notify_id", "app_id", "charset", "version", "sign_type", "sign", "trade_no",
            "out_trade_no", "total_amount", "receipt_amount", "buyer_pay_amount", "subject", "trade_status",
            "gmt_create", "gmt_payment", "seller_id", "buyer_id",
        ] {
            #expect(values[key]?.isEmpty == false, "\(key)")
        }
        #expect(values["notify_type"] == "trade_status_sync" && values["trade_status"] == "TRADE_SUCCESS")
        #expect(values["gmt_create"] == "2026-11-22 10:00:00" && values["gmt_payment"] == "2026-11-22 10:00:30")
        #expect(values["subject"] == "购买课程 \"Python\" & more=1" && values["total_amount"] == "998.00")
        #expect(AlipayParameters.verify(params: params, publicKey: keys.alipayPublic))
        // as the app receives it: a form body, `+` and %-escapes decoded once
        let body = URLCoding.encodeForm(params).replacingOccurrences(of: "%20", with: "+")
        #expect(AlipayParameters.verify(params: URLCoding.decodeForm(body), publicKey: keys.alipayPublic))
        let forged = params.map { $0.0 == "seller_id" ? ($0.0, "2088999999999999") : $0 }
        #expect(!AlipayParameters.verify(params: forged, publicKey: keys.alipayPublic))
    }

    @Test func gatewayResponsesVerifyOverTheirExactBytes() throws {
        let keys = try TestKeys.get()
        let trade = try paidTrade()
        let content = SandboxProtocol.queryContent(trade, time: Fixtures.time)
        let body = try SandboxProtocol.responseBody(
            responseKey: "alipay_trade_query_response", content: content, key: keys.alipay)
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.hasPrefix(#"{"alipay_trade_query_response":{"code":"10000","msg":"Success","#))
        let verified = try AlipayResponse.verified(body: body, method: "alipay.trade.query", publicKey: keys.alipayPublic)
        #expect(verified["trade_status"] == "TRADE_SUCCESS" && verified["total_amount"] == "998.00")
        #expect(verified["trade_no"]?.stringValue == trade.tradeNo && verified["send_pay_date"] == "2026-11-22 10:00:30")
        #expect(verified["out_trade_no"] == "202611220000000100000001" && verified["buyer_pay_amount"] == "998.00")
        // the signature is over those bytes: another key or a changed byte fails
        #expect(throws: AlipayResponseError.invalidSignature) {
            try AlipayResponse.verified(body: body, method: "alipay.trade.query", publicKey: keys.appPublic)
        }
        let tampered = Array(text.replacingOccurrences(of: "998.00", with: "998.01").utf8)
        #expect(throws: AlipayResponseError.invalidSignature) {
            try AlipayResponse.verified(body: tampered, method: "alipay.trade.query", publicKey: keys.alipayPublic)
        }
        // refusals are signed too
        let refusal = try SandboxProtocol.responseBody(
            responseKey: "alipay_trade_close_response",
            content: SandboxProtocol.refusalContent(.tradeNotExist), key: keys.alipay)
        let object = try AlipayResponse.verified(body: refusal, method: "alipay.trade.close", publicKey: keys.alipayPublic)
        #expect(object["code"] == "40004" && object["sub_code"] == "ACQ.TRADE_NOT_EXIST")
    }

    @Test func unpaidQueryContentHasNoTradeNumberYet() throws {
        let store = TradeStore(time: Fixtures.time)
        let trade = try store.open(
            PagePayOrder(
                outTradeNo: "W", totalAmount: Fen(100), subject: "s", timeExpire: nil,
                returnURL: nil, notifyURL: nil), now: Fixtures.start)
        let content = SandboxProtocol.queryContent(trade, time: Fixtures.time)
        #expect(
            String(decoding: content.serialized, as: UTF8.self)
                == #"{"code":"10000","msg":"Success","out_trade_no":"W","trade_status":"WAIT_BUYER_PAY","total_amount":"1.00","buyer_pay_amount":"0.00"}"#
        )
    }

    @Test func responseKeys() {
        #expect(SandboxProtocol.responseKey(method: "alipay.trade.query") == "alipay_trade_query_response")
        #expect(SandboxProtocol.responseKey(method: "alipay.trade.close") == "alipay_trade_close_response")
        #expect(SandboxProtocol.responseKey(method: "alipay.trade.refund") == "alipay_trade_refund_response")
        #expect(
            SandboxProtocol.responseKey(method: "alipay.trade.fastpay.refund.query")
                == "alipay_trade_fastpay_refund_query_response")
        #expect(SandboxProtocol.responseKey(method: "alipay.trade.cancel") == "error_response")
        #expect(SandboxProtocol.responseKey(method: nil) == "error_response")
    }

    @Test func pagesEscapeAndLinkBackToTheSite() {
        #expect(CashierPages.escape(#"<a href="x">&'"#) == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
        #expect(CashierPages.site(of: "http://127.0.0.1:8080/alipay?x=1") == "http://127.0.0.1:8080/")
        #expect(CashierPages.site(of: "https://shop.example.com") == "https://shop.example.com/")
        #expect(CashierPages.site(of: "javascript:alert(1)") == nil)
        #expect(CashierPages.site(of: "http:///x") == nil)
    }
}
