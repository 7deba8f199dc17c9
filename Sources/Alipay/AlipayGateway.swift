import CoreMetrics
public import Foundation
public import LuffyCore

/// The app's side of Alipay: signed page-pay links and the gateway API calls (`alipay.trade.query`,
/// `alipay.trade.close`; README, "HTTP API"; the refund calls in AlipayRefunds.swift).
/// Keys are loaded once at start; a missing or unreadable key stops start-up (fail closed).
public final class AlipayGateway: Sendable {
    public let appID: String
    public let sellerID: String?
    let gatewayURL: String
    let returnURL: String
    let notifyURL: String
    let appKey: RSAPrivateKey
    public let alipayKey: RSAPublicKey
    let http: HTTPClient
    /// Gateway calls in flight at once, process-wide (`LUFFY_GATEWAY_CONCURRENCY`): a slow gateway
    /// holds at most this many workers (README "Faults": gateway slow). Shared by every worker and the
    /// sweeper, which all use this one gateway object.
    let permits: Bulkhead
    /// What a refused caller is told to wait (`Retry-After`, seconds): a permit is given back
    /// within one gateway time-out.
    let retryAfter: Int
    let clock: ShopClock

    public enum SetupError: Error, CustomStringConvertible {
        case missing(String)
        public var description: String {
            if case let .missing(key) = self { return "\(key) is not set: the service cannot take payments without it" }
            return ""
        }
    }

    /// `concurrency`: `LUFFY_GATEWAY_CONCURRENCY`; `timeZone`: the shop's, for request timestamps.
    public init(settings alipay: AlipaySettings, concurrency: Int, timeZone: TimeZone) throws {
        guard let appID = alipay.appID else { throw SetupError.missing("LUFFY_ALIPAY_APP_ID") }
        guard let privatePath = alipay.appPrivateKeyPath else { throw SetupError.missing("LUFFY_ALIPAY_APP_PRIVATE_KEY") }
        guard let publicPath = alipay.alipayPublicKeyPath else { throw SetupError.missing("LUFFY_ALIPAY_PUBLIC_KEY") }
        self.appID = appID
        sellerID = alipay.sellerID
        gatewayURL = alipay.gateway
        returnURL = alipay.returnURL
        notifyURL = alipay.notifyURL
        appKey = try RSAPrivateKey.load(path: privatePath)
        alipayKey = try RSAPublicKey.load(path: publicPath)
        http = HTTPClient(timeout: .seconds(alipay.timeout))
        permits = Bulkhead(capacity: concurrency)
        retryAfter = alipay.timeout
        clock = ShopClock(zone: timeZone)
    }

    /// `gateway?…` for `alipay.trade.page.pay`; `timeExpire` closes Alipay's cashier with the order.
    public func pagePayLink(orderNumber: String, amount: Fen, subject: String, timeExpire: String) throws -> String {
        let biz = AlipayParameters.bizContent(
            outTradeNo: orderNumber, totalAmount: amount, subject: subject, timeExpire: timeExpire)
        let params = AlipayParameters.pagePayParameters(
            appID: appID, returnURL: returnURL, notifyURL: notifyURL,
            timestamp: clock.now(), bizContent: biz)
        return gatewayURL + "?" + (try AlipayParameters.signedQuery(params, key: appKey))
    }

    /// What the gateway knows of a trade.
    public enum Trade: Equatable, Sendable {
        case notFound
        case waiting
        case closed
        /// TRADE_SUCCESS or TRADE_FINISHED.
        case paid(tradeNo: String, amount: Fen)
    }

    public enum GatewayError: Error, CustomStringConvertible {
        /// Not reachable, timed out, or an answer we cannot trust (bad signature, not JSON).
        case unavailable(String)
        /// Every permit is held by calls in flight: refused without asking the gateway, so nothing
        /// happened there. `retryAfter`: seconds until a permit is free at the latest.
        case busy(Bulkhead.Full, retryAfter: Int)

        public var description: String {
            switch self {
            case let .unavailable(detail): return "Alipay gateway unavailable: \(detail)"
            case let .busy(full, _): return "Alipay gateway busy: \(full)"
            }
        }
    }

    /// `alipay.trade.query`; only what the verified signature covers is used.
    public func query(orderNumber: String) throws -> Trade {
        let response = try call("alipay.trade.query", orderNumber: orderNumber)
        if response["code"]?.stringValue != "10000" {
            if response["sub_code"]?.stringValue == "ACQ.TRADE_NOT_EXIST" { return .notFound }
            throw GatewayError.unavailable(
                "query answered \(response["sub_code"]?.stringValue ?? response["code"]?.stringValue ?? "?")")
        }
        switch response["trade_status"]?.stringValue {
        case "TRADE_SUCCESS", "TRADE_FINISHED":
            guard let tradeNo = response["trade_no"]?.stringValue,
                let amount = response["total_amount"]?.stringValue.flatMap({ Fen(decimal: $0) })
            else {
                throw GatewayError.unavailable("paid trade without trade_no or total_amount")
            }
            return .paid(tradeNo: tradeNo, amount: amount)
        case "WAIT_BUYER_PAY": return .waiting
        case "TRADE_CLOSED": return .closed
        case let other: throw GatewayError.unavailable("unknown trade_status \(other ?? "nil")")
        }
    }

    public enum CloseResult: Equatable, Sendable {
        /// Closed now or before: nobody can pay it. (A link never opened has no trade yet and
        /// can still be paid until its time_expire; such a payment is recorded for refund.)
        case closed
        /// The buyer paid first.
        case paid
    }

    /// `alipay.trade.close`.
    public func close(orderNumber: String) throws -> CloseResult {
        let response = try call("alipay.trade.close", orderNumber: orderNumber)
        if response["code"]?.stringValue == "10000" { return .closed }
        switch response["sub_code"]?.stringValue {
        case "ACQ.TRADE_NOT_EXIST": return .closed
        case "ACQ.TRADE_STATUS_ERROR":
            // Closed already, or paid: the query tells which.
            if case .paid = try query(orderNumber: orderNumber) { return .paid }
            return .closed
        case let other: throw GatewayError.unavailable("close answered \(other ?? "?")")
        }
    }

    /// One gateway call, counted by method and result, and timed by method unless the bulkhead
    /// refused it without asking the gateway (README, "Metrics"). `belongs`: whether a successful
    /// answer (`code` 10000) is about the trade asked about.
    func call(_ method: String, biz: [(String, JSON)], belongs: (JSON) -> Bool) throws -> VerifiedAnswer {
        let started = ContinuousClock.now
        func count(_ result: String) {
            Counter(label: "luffy_alipay_gateway_calls_total", dimensions: [("method", method), ("result", result)]).increment()
            guard result != "busy" else { return }
            Timer(label: "luffy_alipay_gateway_call_duration_seconds", dimensions: [("method", method)])
                .recordNanoseconds(started.duration(to: .now).nanoseconds)
        }
        do {
            let answer = try exchange(method, biz: biz, belongs: belongs)
            count("ok")
            return answer
        } catch {
            if case GatewayError.busy = error { count("busy") } else { count("unavailable") }
            throw error
        }
    }

    private func call(_ method: String, orderNumber: String) throws -> JSON {
        try call(method, biz: [("out_trade_no", .string(orderNumber))]) {
            $0["out_trade_no"]?.stringValue == orderNumber
        }.response
    }

    /// A verified answer: the `<method>_response` object, and the whole body as received (response
    /// and `sign`), which can be verified again later (the refunds' event trail keeps it).
    struct VerifiedAnswer {
        let response: JSON
        let body: String
    }

    private func exchange(_ method: String, biz: [(String, JSON)], belongs: (JSON) -> Bool) throws -> VerifiedAnswer {
        var params = AlipayParameters.commonParameters(appID: appID, method: method, timestamp: clock.now())
        params.append(("biz_content", String(decoding: JSON.object(biz).serialized, as: UTF8.self)))
        let reply: HTTPClient.Reply
        do {
            let form = try AlipayParameters.signed(params, key: appKey)
            reply = try permits.run { try http.postForm(gatewayURL, form) }
        } catch let full as Bulkhead.Full {
            throw GatewayError.busy(full, retryAfter: retryAfter)
        } catch {
            throw GatewayError.unavailable(String(describing: error))
        }
        guard reply.status == 200 else { throw GatewayError.unavailable("HTTP \(reply.status)") }
        let response: JSON
        do {
            response = try AlipayResponse.verified(body: reply.body, method: method, publicKey: alipayKey)
        } catch {
            throw GatewayError.unavailable(String(describing: error))
        }
        // The signature does not tie an answer to our request: a genuine answer about another
        // trade (replayed on the way) must not settle, close or refund anything.
        if response["code"]?.stringValue == "10000", !belongs(response) {
            throw GatewayError.unavailable("\(method) answered about another trade")
        }
        return VerifiedAnswer(response: response, body: String(decoding: reply.body, as: UTF8.self))
    }
}
