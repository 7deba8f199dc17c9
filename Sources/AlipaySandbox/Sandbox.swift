import Alipay
public import FastCGI
import Foundation
public import Logging
public import LuffyCore

/// The local stand-in for Alipay's gateway (docs/SANDBOX.md): shared by every FastCGI worker
/// thread (it holds nothing per thread: the trades are in one locked store, the keys are
/// read-only).
///
///   GET|POST /gateway.do   method=alipay.trade.page.pay → the cashier page (HTML);
///                          alipay.trade.query / alipay.trade.close / alipay.trade.refund /
///                          alipay.trade.fastpay.refund.query /
///                          alipay.data.dataservice.bill.downloadurl.query → signed JSON
///   GET  /downloadBillFile.resource?…&token=T   a day's bill (zip), once per URL
///   POST /cashier/pay      the buyer pays: 302 to return_url with the signed return parameters,
///                          and the asynchronous notification to notify_url (unless notify=0)
///   POST /cashier/cancel   the buyer leaves; the trade keeps waiting for payment
///   GET  /sandbox/trades/<out_trade_no>   the sandbox's record of a trade (JSON, for tests)
///   POST /sandbox/trades/<out_trade_no>/finish   its refund period ends (TRADE_FINISHED)
///   GET|POST /sandbox/brownout             a slow gateway on demand (`delay_ms`, for tests)
///   GET|POST /sandbox/refund-settings      refund faults, notifications, minimum gap (for tests)
///   GET|POST /sandbox/bill-settings        the bills' today, URL lifetime, damage, planted changes
///   POST /sandbox/trades/<out_trade_no>/move   its times move to another day (for tests)
///   GET  /                 what this is
public final class Sandbox: Sendable {
    public let appID: String
    public let sellerID: String
    public let store: TradeStore
    public let notifier: Notifier
    /// Off at start; switched by `POST /sandbox/brownout`.
    public let brownout = Brownout()
    /// From `LUFFY_SANDBOX_REFUND_*`; switched by `POST /sandbox/refund-settings`.
    public let refunds: RefundSettings
    /// Defaults at start; switched by `POST /sandbox/bill-settings`.
    public let bills = BillSettings()
    /// The bill download URLs given and not yet used.
    public let downloads = BillDownloads()
    let keys: SandboxKeys
    let time: ShopClock
    let log: Logger
    let router: Router<Sandbox>
    /// Epoch seconds now; replaceable in tests.
    let clock: @Sendable () -> Int64

    public init(
        appID: String, sellerID: String, keys: SandboxKeys, time: ShopClock, notifyDelays: [Duration],
        log: Logger, send: @escaping Notifier.Sender, clock: @escaping @Sendable () -> Int64 = ShopClock.epochNow,
        store: TradeStore? = nil, refunds: RefundSettings = RefundSettings()
    ) {
        self.appID = appID
        self.sellerID = sellerID
        self.keys = keys
        self.time = time
        self.log = log
        self.clock = clock
        self.refunds = refunds
        router = Sandbox.router(log: log)
        let store = store ?? TradeStore(time: time)
        self.store = store
        notifier = Notifier(
            store: store, keys: keys, appID: appID, sellerID: sellerID, time: time,
            delays: notifyDelays, log: log, send: send, clock: clock)
    }

    /// From the settings: loads the keys and the trades file (missing or unreadable keys, or a
    /// damaged trades file, stop start-up).
    public convenience init(settings: SandboxSettings, log: Logger) throws {
        guard let appID = settings.appID else {
            throw SandboxSetupError.missing(key: "LUFFY_ALIPAY_APP_ID", what: "the app id the sandbox accepts requests from")
        }
        let time = ShopClock(zone: settings.timeZone)
        var store: TradeStore?
        if let path = settings.stateFile {
            do { store = try TradeStore(time: time, file: TradeFile(path: path, log: log)) } catch {
                throw SandboxSetupError.key(key: "LUFFY_SANDBOX_STATE_FILE", underlying: String(describing: error))
            }
            log.info("trades loaded", metadata: ["file": "\(path)", "trades": "\(store?.count ?? 0)"])
        }
        self.init(
            appID: appID, sellerID: settings.sellerID, keys: try SandboxKeys.load(settings),
            time: time, notifyDelays: settings.notifyDelays.map { .seconds($0) },
            log: log, send: Notifier.httpSender(timeout: .seconds(settings.notifyTimeout)), store: store,
            refunds: RefundSettings(settings.refunds, delayMilliseconds: settings.refundDelayMilliseconds))
    }

    /// For `FastCGIServer`: every worker answers with this same sandbox.
    public func makeResponder() -> any Responder { SandboxResponder(sandbox: self) }

    struct SandboxResponder: Responder {
        let sandbox: Sandbox
        func respond(to request: Request) -> Response { sandbox.respond(to: request) }
        func finish() {}
    }

    // MARK: Routing

    public func respond(to request: Request) -> Response {
        do {
            return try router.respond(to: request, context: self)
        } catch {
            // Unreachable: no handler of the sandbox throws (a route's parameter is always there).
            log.error("request failed", metadata: ["error": "\(error)"])
            return handleUnknown(request)
        }
    }

    /// The sandbox's routes on the shop's router type, behind the request log line.
    static func router(log: Logger) -> Router<Sandbox> {
        var router = Router<Sandbox>()
        router.add(middleware: RequestLogMiddleware(log: log))
        router.get("/gateway.do") { request, sandbox in sandbox.handleGateway(request) }
        router.post("/gateway.do") { request, sandbox in sandbox.handleGateway(request) }
        router.post("/cashier/pay") { request, sandbox in sandbox.handlePay(request) }
        router.post("/cashier/cancel") { request, sandbox in sandbox.handleCancel(request) }
        router.get("/sandbox/trades/:out_trade_no") { request, sandbox in
            sandbox.handleTradeRecord(try request.parameters.require("out_trade_no", as: String.self))
        }
        router.post("/sandbox/trades/:out_trade_no/finish") { request, sandbox in
            sandbox.handleFinish(try request.parameters.require("out_trade_no", as: String.self))
        }
        router.post("/sandbox/trades/:out_trade_no/move") { request, sandbox in
            sandbox.handleMove(try request.parameters.require("out_trade_no", as: String.self), request)
        }
        router.get("/downloadBillFile.resource") { request, sandbox in sandbox.handleBillDownload(request) }
        router.get("/sandbox/bill-settings") { request, sandbox in sandbox.handleBillSettings(request) }
        router.post("/sandbox/bill-settings") { request, sandbox in sandbox.handleBillSettings(request) }
        router.get("/sandbox/brownout") { request, sandbox in sandbox.handleBrownout(request) }
        router.post("/sandbox/brownout") { request, sandbox in sandbox.handleBrownout(request) }
        router.get("/sandbox/refund-settings") { request, sandbox in sandbox.handleRefundSettings(request) }
        router.post("/sandbox/refund-settings") { request, sandbox in sandbox.handleRefundSettings(request) }
        router.get("/") { _, _ in Response.text(Sandbox.help) }
        router.notFound = { request, sandbox in sandbox.handleUnknown(request) }
        // Only the gateway and the cashier's buttons tell a wrong method apart; the test helpers'
        // paths answer any other method as an unknown page.
        router.methodNotAllowed = { request, sandbox in
            switch request.route?.text {
            case "/gateway.do":
                return sandbox.html(CashierPages.message("不支持的请求方法", "请使用 GET 或 POST。"), status: 405)
            case "/cashier/pay", "/cashier/cancel":
                return sandbox.html(CashierPages.message("不支持的请求方法", "请在收银台页面上操作。"), status: 405)
            default:
                return sandbox.handleUnknown(request)
            }
        }
        return router
    }

    func handleUnknown(_ request: Request) -> Response {
        html(CashierPages.message("页面不存在", "本地支付宝沙箱没有这个地址。"), status: 404)
    }

    /// Query-string parameters, then those of a form body (Alipay takes both). A key given in
    /// both counts twice and is refused by the checks.
    static func parameters(_ request: Request) -> [(String, String)] {
        var params = request.query
        let type = request.header("content-type")?.lowercased() ?? ""
        if request.method == "POST", !request.body.isEmpty,
            type.isEmpty || type.dropping(asciiPrefix: "application/x-www-form-urlencoded") != nil
        {
            params += URLCoding.decodeForm(String(decoding: request.body, as: UTF8.self))
        }
        return params
    }

    // MARK: gateway.do

    func handleGateway(_ request: Request) -> Response {
        if brownout.delayMilliseconds > 0 {
            let held = brownout.hold()
            log.info("brownout: gateway answer held", metadata: ["held_ms": "\(Int(held * 1000))"])
        }
        let params = Sandbox.parameters(request)
        let claimed = params.first { $0.0 == "method" }?.1
        if claimed == AlipayParameters.pagePayMethod { return pagePay(params) }
        let method: String
        do {
            method = try SandboxProtocol.checkRequest(params, appID: appID, appKey: keys.appPublic)
        } catch let refusal as GatewayRefusal {
            log.warning("request refused", metadata: ["method": "\(claimed ?? "-")", "sub_code": "\(refusal.subCode)"])
            return signedJSON(method: claimed, content: SandboxProtocol.refusalContent(refusal))
        } catch {
            return signedJSON(method: claimed, content: SandboxProtocol.refusalContent(.invalidSignature))
        }
        switch method {
        case SandboxProtocol.queryMethod: return query(params)
        case SandboxProtocol.closeMethod: return close(params)
        case SandboxProtocol.refundMethod: return refund(params)
        case SandboxProtocol.refundQueryMethod: return refundQuery(params)
        case SandboxProtocol.billURLMethod: return billURL(params, request: request)
        default: return signedJSON(method: method, content: SandboxProtocol.refusalContent(.invalidMethod))
        }
    }

    func pagePay(_ params: [(String, String)]) -> Response {
        let order: PagePayOrder
        do {
            _ = try SandboxProtocol.checkRequest(params, appID: appID, appKey: keys.appPublic)
            order = try SandboxProtocol.pagePayOrder(params, time: time)
        } catch let refusal as GatewayRefusal {
            log.warning("page pay refused", metadata: ["sub_code": "\(refusal.subCode)", "sub_msg": "\(refusal.subMsg)"])
            return errorPage(refusal)
        } catch {
            return errorPage(.invalidSignature)
        }
        let trade: Trade
        do {
            trade = try store.open(order, now: clock())
        } catch let error as TradeError {
            log.warning("page pay refused", metadata: ["out_trade_no": "\(order.outTradeNo)", "reason": "\(error)"])
            switch error {
            case .amountChanged: return errorPage(.tradeHasChanged)
            default: return errorPage(.tradeHasClosed)
            }
        } catch {
            return errorPage(.tradeHasClosed)
        }
        switch trade.status {
        case .waitBuyerPay:
            log.info("cashier shown", metadata: ["out_trade_no": "\(trade.outTradeNo)", "total_amount": "\(trade.totalAmount)"])
            return html(CashierPages.cashier(trade, time: time))
        case .success, .finished:
            return html(CashierPages.alreadyPaid(trade, time: time))
        case .closed:
            return errorPage(.tradeHasClosed)
        }
    }

    func query(_ params: [(String, String)]) -> Response {
        let method = SandboxProtocol.queryMethod
        do {
            let ref = try SandboxProtocol.tradeReference(params)
            guard let trade = store.find(outTradeNo: ref.outTradeNo, tradeNo: ref.tradeNo, now: clock()) else {
                return signedJSON(
                    method: method, content: SandboxProtocol.refusalContent(.tradeNotExist, outTradeNo: ref.outTradeNo))
            }
            return signedJSON(method: method, content: SandboxProtocol.queryContent(trade, time: time))
        } catch {
            return signedJSON(
                method: method,
                content: SandboxProtocol.refusalContent(error as? GatewayRefusal ?? .invalidParameter("biz_content")))
        }
    }

    func close(_ params: [(String, String)]) -> Response {
        let method = SandboxProtocol.closeMethod
        let ref: (outTradeNo: String?, tradeNo: String?)
        do { ref = try SandboxProtocol.tradeReference(params) } catch {
            return signedJSON(
                method: method,
                content: SandboxProtocol.refusalContent(error as? GatewayRefusal ?? .invalidParameter("biz_content")))
        }
        let now = clock()
        guard let found = store.find(outTradeNo: ref.outTradeNo, tradeNo: ref.tradeNo, now: now) else {
            return signedJSON(method: method, content: SandboxProtocol.refusalContent(.tradeNotExist, outTradeNo: ref.outTradeNo))
        }
        do {
            let trade = try store.close(outTradeNo: found.outTradeNo, now: now)
            log.info("trade closed", metadata: ["out_trade_no": "\(trade.outTradeNo)"])
            return signedJSON(method: method, content: SandboxProtocol.closeContent(trade))
        } catch {
            return signedJSON(
                method: method, content: SandboxProtocol.refusalContent(.tradeStatusError, outTradeNo: found.outTradeNo))
        }
    }

    // MARK: Refunds (docs/SANDBOX.md, "Refunds")

    /// `alipay.trade.refund`: the faults in force first (a SYSTEM_ERROR refunds nothing), then
    /// `RefundRules` in the store; an applied refund may be notified, its answer held
    /// (`LUFFY_SANDBOX_REFUND_DELAY_MS`) or lost (status 444: the stacks' nginx then closes the
    /// connection without an answer).
    func refund(_ params: [(String, String)]) -> Response {
        let method = SandboxProtocol.refundMethod
        let fault = refunds.takeFault()
        let settings = refunds.current
        if fault == .systemErrorOnce {
            log.warning("refund fault: system error", metadata: ["fault": "\(fault.rawValue)"])
            return signedJSON(method: method, content: SandboxProtocol.refusalContent(.systemError))
        }
        let done: (trade: Trade, outcome: RefundRules.Outcome)
        do {
            let request = try RefundRules.request(params)
            done = try store.refund(
                request, now: clock(), minimumGap: Int64(settings.minimumGap),
                refusing: fault == .balanceNotEnough ? .sellerBalanceNotEnough : nil)
        } catch {
            let refusal = error as? GatewayRefusal ?? .invalidParameter("biz_content")
            log.warning("refund refused", metadata: ["sub_code": "\(refusal.subCode)", "fault": "\(fault.rawValue)"])
            return signedJSON(method: method, content: SandboxProtocol.refusalContent(refusal))
        }
        let trade = done.trade
        switch done.outcome {
        case let .applied(record):
            log.info(
                "refund applied",
                metadata: [
                    "out_trade_no": "\(trade.outTradeNo)", "out_request_no": "\(record.outRequestNo)",
                    "refund_amount": "\(record.amount)", "refund_fee": "\(record.refundFee)",
                    "trade_status": "\(trade.status.rawValue)",
                ])
            if settings.notify, trade.order.notifyURL != nil {
                notifier.schedule(outTradeNo: trade.outTradeNo, refund: record.outRequestNo)
            }
        case let .replayed(record):
            log.info(
                "refund replayed", metadata: ["out_trade_no": "\(trade.outTradeNo)", "out_request_no": "\(record.outRequestNo)"])
        }
        let answer = signedJSON(method: method, content: RefundRules.refundContent(trade, done.outcome, time: time))
        if refunds.delay.delayMilliseconds > 0 {
            let held = refunds.delay.hold()
            log.info("refund answer held", metadata: ["held_ms": "\(Int(held * 1000))"])
        }
        if fault == .answerLostOnce {
            log.warning("refund fault: answer lost", metadata: ["out_trade_no": "\(trade.outTradeNo)"])
            return Response(status: 444, headers: [("X-Sandbox-Fault", RefundFault.answerLostOnce.rawValue)])
        }
        return answer
    }

    /// `alipay.trade.fastpay.refund.query`: the refund when applied, an empty success when not.
    func refundQuery(_ params: [(String, String)]) -> Response {
        let method = SandboxProtocol.refundQueryMethod
        do {
            let ref = try RefundRules.queryReference(params)
            guard let trade = store.find(outTradeNo: ref.outTradeNo, tradeNo: ref.tradeNo, now: clock()) else {
                return signedJSON(method: method, content: SandboxProtocol.refusalContent(.tradeNotExist))
            }
            return signedJSON(
                method: method, content: RefundRules.refundQueryContent(trade, outRequestNo: ref.outRequestNo, time: time))
        } catch {
            return signedJSON(
                method: method,
                content: SandboxProtocol.refusalContent(error as? GatewayRefusal ?? .invalidParameter("biz_content")))
        }
    }

    // MARK: The cashier's buttons

    func handlePay(_ request: Request) -> Response {
        let form = Sandbox.parameters(request)
        guard let outTradeNo = form.first(where: { $0.0 == "out_trade_no" })?.1, !outTradeNo.isEmpty else {
            return html(CashierPages.message("缺少订单号", "请从收银台页面付款。"), status: 400)
        }
        let notifyValue = form.first { $0.0 == "notify" }?.1 ?? "1"
        guard notifyValue == "0" || notifyValue == "1" else {
            return html(CashierPages.message("参数错误", "notify 只能是 1（发送异步通知）或 0（不发送）。"), status: 400)
        }
        let now = clock()
        let trade: Trade
        do {
            trade = try store.pay(outTradeNo: outTradeNo, now: now, notify: notifyValue == "1")
        } catch let error as TradeError {
            log.warning("payment refused", metadata: ["out_trade_no": "\(outTradeNo)", "reason": "\(error)"])
            switch error {
            case .notFound: return html(CashierPages.message("交易不存在", "沙箱中没有这笔交易（沙箱重启后交易记录会清空）。"), status: 404)
            case .alreadyPaid: return errorPage(.tradeHasSucceeded)
            case .expired: return errorPage(GatewayRefusal.business("ACQ.TRADE_HAS_CLOSE", "交易已超过支付截止时间，已关闭"))
            default: return errorPage(.tradeHasClosed)
            }
        } catch {
            return errorPage(.tradeHasClosed)
        }
        log.info(
            "trade paid",
            metadata: [
                "out_trade_no": "\(trade.outTradeNo)", "trade_no": "\(trade.tradeNo ?? "")",
                "total_amount": "\(trade.totalAmount)", "notify": "\(trade.notification.enabled ? "1" : "0")",
            ])
        if trade.notification.enabled { notifier.schedule(outTradeNo: trade.outTradeNo) }
        guard let returnURL = trade.order.returnURL else {
            return html(CashierPages.paid(trade, time: time))
        }
        do {
            let params = try SandboxProtocol.returnParameters(
                trade: trade, appID: appID, sellerID: sellerID,
                timestamp: time.format(now), key: keys.alipayPrivate)
            let location = SandboxProtocol.returnLocation(returnURL: returnURL, parameters: params)
            return Response(
                status: 302,
                headers: [
                    ("Location", location), ("Content-Type", "text/html; charset=utf-8"),
                    ("Cache-Control", "no-store"),
                ],
                body: Array(
                    "<!DOCTYPE html><meta charset=\"utf-8\"><a href=\"\(CashierPages.escape(location))\">付款成功，返回商户网站</a>\n".utf8))
        } catch {
            log.error("signing the return failed", metadata: ["error": "\(error)"])
            return html(CashierPages.paid(trade, time: time))
        }
    }

    func handleCancel(_ request: Request) -> Response {
        let form = Sandbox.parameters(request)
        guard let outTradeNo = form.first(where: { $0.0 == "out_trade_no" })?.1,
            let trade = store.find(outTradeNo: outTradeNo, now: clock())
        else {
            return html(CashierPages.message("交易不存在", "沙箱中没有这笔交易（沙箱重启后交易记录会清空）。"), status: 404)
        }
        log.info(
            "buyer left the cashier",
            metadata: ["out_trade_no": "\(trade.outTradeNo)", "trade_status": "\(trade.status.rawValue)"])
        return html(CashierPages.cancelled(trade, time: time))
    }

    // MARK: Test helper

    func handleTradeRecord(_ outTradeNo: String) -> Response {
        guard let trade = store.find(outTradeNo: outTradeNo, now: clock()) else {
            return .json(["errmsg": "交易不存在", "code": "trade_not_found"], status: 404)
        }
        func text(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
        return .json(
            .object([
                ("out_trade_no", .string(trade.outTradeNo)),
                ("trade_no", text(trade.tradeNo)),
                ("trade_status", .string(trade.status.rawValue)),
                ("total_amount", .string(trade.totalAmount.description)),
                ("subject", .string(trade.order.subject)),
                ("gmt_create", .string(time.format(trade.createdAt))),
                ("gmt_payment", text(trade.paidAt.map { time.format($0) })),
                ("time_expire", text(trade.order.timeExpire.map { time.format($0) })),
                ("return_url", text(trade.order.returnURL)),
                ("notify_url", text(trade.order.notifyURL)),
                ("notification", trade.notification.json),
                ("refunded_amount", .string(trade.refundedAmount.description)),
                (
                    "refunds",
                    .array(
                        trade.refunds.map { r in
                            .object([
                                ("out_request_no", .string(r.outRequestNo)), ("refund_amount", .string(r.amount.description)),
                                ("refund_reason", text(r.reason)), ("gmt_refund_pay", .string(time.format(r.refundedAt))),
                                ("refund_fee", .string(r.refundFee.description)), ("notification", r.notification.json),
                            ])
                        })
                ),
            ]))
    }

    /// `POST /sandbox/trades/<n>/finish`: a paid trade's refund period ends, as Alipay's does
    /// months after payment; 404 unknown, 409 not TRADE_SUCCESS.
    func handleFinish(_ outTradeNo: String) -> Response {
        do {
            let trade = try store.finish(outTradeNo: outTradeNo)
            log.info("trade finished", metadata: ["out_trade_no": "\(trade.outTradeNo)"])
            return handleTradeRecord(outTradeNo)
        } catch TradeError.notFound {
            return .json(["errmsg": "交易不存在", "code": "trade_not_found"], status: 404)
        } catch {
            return .json(["errmsg": "只有 TRADE_SUCCESS 的交易可以完结", "code": "trade_not_success"], status: 409)
        }
    }

    /// `GET /sandbox/refund-settings`: the refund settings in force; `POST` changes those given
    /// (`fault`, `notify` 0|1, `min_gap_s`, `delay_ms`), all or nothing: one invalid value is a 400
    /// `invalid_refund_setting` naming it, nothing changed.
    func handleRefundSettings(_ request: Request) -> Response {
        if request.method == "POST" {
            let form = Sandbox.parameters(request)
            var values = refunds.current
            var delay = refunds.delay.delayMilliseconds
            var seen = Set<String>()
            for (key, raw) in form {
                var valid = seen.insert(key).inserted
                switch key {
                case "fault":
                    if let fault = RefundFault(rawValue: raw) { values.fault = fault } else { valid = false }
                case "notify":
                    if raw == "0" || raw == "1" { values.notify = raw == "1" } else { valid = false }
                case "min_gap_s":
                    if let v = Int(raw), (0...RefundSettings.maxMinimumGap).contains(v) {
                        values.minimumGap = v
                    } else {
                        valid = false
                    }
                case "delay_ms":
                    if let v = Int(raw), (0...Brownout.maxMilliseconds).contains(v) { delay = v } else { valid = false }
                default:
                    valid = false
                }
                guard valid else {
                    let message =
                        "\(key) 无效：fault 为 \(RefundFault.allCases.map(\.rawValue).joined(separator: "|"))，notify 为 0|1，"
                        + "min_gap_s 为 0 到 \(RefundSettings.maxMinimumGap)，delay_ms 为 0 到 \(Brownout.maxMilliseconds)"
                    return .json(["errmsg": .string(message), "code": "invalid_refund_setting"], status: 400)
                }
            }
            refunds.set { $0 = values }
            if delay != refunds.delay.delayMilliseconds { refunds.delay.set(milliseconds: delay) }
            log.warning(
                "refund settings set",
                metadata: [
                    "fault": "\(values.fault.rawValue)", "notify": "\(values.notify)", "min_gap_s": "\(values.minimumGap)",
                    "delay_ms": "\(delay)",
                ])
        }
        let values = refunds.current
        return .json(
            .object([
                ("fault", .string(values.fault.rawValue)), ("notify", .bool(values.notify)),
                ("min_gap_s", .int(Int64(values.minimumGap))), ("delay_ms", .int(Int64(refunds.delay.delayMilliseconds))),
            ]))
    }

    /// `GET /sandbox/brownout`: the delay in force; `POST` with `delay_ms` (0 switches it off) sets
    /// it. Answered at once, whatever the delay: tests must be able to switch a brownout off.
    func handleBrownout(_ request: Request) -> Response {
        if request.method == "POST" {
            let form = Sandbox.parameters(request)
            guard let raw = form.first(where: { $0.0 == "delay_ms" })?.1, let value = Int(raw),
                (0...Brownout.maxMilliseconds).contains(value)
            else {
                let message = "delay_ms 必须是 0 到 \(Brownout.maxMilliseconds) 之间的整数（毫秒）"
                return .json(["errmsg": .string(message), "code": "invalid_delay"], status: 400)
            }
            brownout.set(milliseconds: value)
            log.warning("brownout set", metadata: ["delay_ms": "\(value)"])
        }
        return .json(["delay_ms": .int(Int64(brownout.delayMilliseconds))])
    }

    // MARK: Answers

    func signedJSON(method: String?, content: JSON) -> Response {
        let key = SandboxProtocol.responseKey(method: method)
        do {
            let body = try SandboxProtocol.responseBody(responseKey: key, content: content, key: keys.alipayPrivate)
            return Response(status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: body)
        } catch {
            log.error("signing a response failed", metadata: ["error": "\(error)"])
            return Response(
                status: 500, headers: [("Content-Type", "application/json; charset=utf-8")],
                body: JSON.object([(key, content)]).serialized)
        }
    }

    func html(_ page: String, status: HTTPStatus = .ok) -> Response {
        Response(
            status: status, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            body: Array(page.utf8))
    }

    /// Alipay's refusal page: 400, with the sub code also in a header for scripts.
    func errorPage(_ refusal: GatewayRefusal) -> Response {
        var response = html(CashierPages.error(refusal), status: 400)
        response.headers.append(("X-Sandbox-Error", refusal.subCode))
        return response
    }

    public static let help = """
        alipay-sandbox: a local stand-in for Alipay's gateway (luffy-pay, docs/SANDBOX.md).

        GET|POST /gateway.do  method=alipay.trade.page.pay            cashier page (HTML)
        POST     /gateway.do  method=alipay.trade.query|close|refund, alipay.trade.fastpay.refund.query,
                              alipay.data.dataservice.bill.downloadurl.query  signed JSON
        GET      /downloadBillFile.resource?…&token=T   a day's bill (GBK csv.zip), one download per URL
        POST     /cashier/pay     out_trade_no, notify=1|0   pay: 302 to return_url (+ notification)
        POST     /cashier/cancel  out_trade_no               leave the cashier (trade keeps waiting)
        GET      /sandbox/trades/<out_trade_no>              the sandbox's record of a trade (JSON)
        POST     /sandbox/trades/<out_trade_no>/finish       end its refund period (TRADE_FINISHED)
        GET|POST /sandbox/brownout  delay_ms=N   hold every /gateway.do answer N ms (0 = off)
        GET|POST /sandbox/refund-settings  fault, notify, min_gap_s, delay_ms   refund faults (tests)
        GET|POST /sandbox/bill-settings    {"today","url_ttl_s","corrupt","changes"}   bills (tests)
        POST     /sandbox/trades/<out_trade_no>/move  {"day":"yyyy-MM-dd"}   move a paid trade's times (tests)

        Trades survive a restart when LUFFY_SANDBOX_STATE_FILE is set. See docs/SANDBOX.md.

        """
}
