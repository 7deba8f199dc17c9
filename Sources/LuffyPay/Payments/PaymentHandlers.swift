import Alipay
import FastCGI
import Logging
package import LuffyCore
package import MariaDB

/// The Alipay endpoints (README, "HTTP API": the `/payments/alipay/…` sections).
package enum PaymentHandlers {
    /// `GET /payments/alipay/<order_number>`: a signed page-pay link for the owner's unpaid order.
    static func handlePayLink(_ request: Request, _ context: SignedInContext) throws -> Response {
        let order = try PaymentOrder.owned(request, context)
        if let refusal = payLinkRefusal(order.status, expired: order.expired) { throw refusal }
        // A course the buyer has bought through another order since (access running): paying would
        // buy it twice.
        let owned = try context.db.query(
            """
            SELECT oc.course_id FROM ly_order_course oc
            JOIN ly_user_course uc ON uc.user_id = \(order.userID) AND uc.course_id = oc.course_id AND \(UserCourse.accessRunning)
            WHERE oc.order_id = \(order.id)
            """, decoding: Int64.self)
        if !owned.isEmpty { throw OrderError.courseAlreadyPurchased(courseIDs: owned.sorted()) }
        if !order.payLinkIssued {
            // From now on cancel and the sweeper must ask the gateway before closing the order.
            // Recorded only while the order is unpaid (the row lock orders this against a cancel or
            // a sweeper): one that closed it meanwhile wins, and no link is handed out. In a
            // transaction of its own, so that a certification conflict with a write of the order
            // through another Galera node (1213, even for one statement) is run again, not a 500.
            let marked = try context.db.transaction {
                try context.db.execute(
                    """
                    UPDATE ly_order FORCE INDEX (PRIMARY) SET pay_link_time = COALESCE(pay_link_time, NOW(6))
                    WHERE id = \(order.id) AND order_status = 0
                    """
                )
            }
            if marked.affectedRows != 1 {
                let now = try PaymentOrder.find(
                    id: order.id, userID: order.userID, timeout: context.settings.orderTimeout,
                    db: context.db)
                throw payLinkRefusal(now?.status ?? .cancelled, expired: true) ?? .orderExpired
            }
        }
        let link = try context.gateway.pagePayLink(
            orderNumber: order.number, amount: order.realPrice, subject: order.subject,
            timeExpire: order.expiresAt)
        return .json([
            "pay_type": .int(PayType.alipay.rawValue), "get_pay_type_display": .string(PayType.alipay.display),
            "link": .string(link),
        ])
    }

    /// Why no pay link can be given for an order in this state (nil: it can).
    private static func payLinkRefusal(_ status: OrderStatus, expired: Bool) -> PaymentError? {
        switch status {
        case .paid, .refunded: return .orderPaid
        case .cancelled: return .orderCancelled
        case .timedOut: return .orderExpired
        case .unpaid: return expired ? .orderExpired : nil
        }
    }

    /// `POST /payments/alipay/notify`: Alipay's asynchronous notification. Answers exactly
    /// `success` once handled (or handled before), `fail` to make Alipay retry.
    static func handleNotify(_ request: Request, _ context: RequestContext) throws -> Response {
        let log = context.log
        let params = URLCoding.decodeForm(String(decoding: request.body, as: UTF8.self))
        func value(_ key: String) -> String? { params.first { $0.0 == key }?.1 }
        func refuse(_ why: String) -> Response {
            ShopMetrics.notificationRefused(reason: why)
            log.warning("notification refused", metadata: ["reason": "\(why)", "out_trade_no": "\(value("out_trade_no") ?? "")"])
            return .text("fail")
        }
        let gateway = context.gateway
        guard AlipayParameters.verify(params: params, publicKey: gateway.alipayKey) else { return refuse("signature") }
        guard value("app_id") == gateway.appID else { return refuse("app_id") }
        if let seller = gateway.sellerID, value("seller_id") != seller { return refuse("seller_id") }
        guard let number = value("out_trade_no"), let tradeNo = value("trade_no"), !tradeNo.isEmpty,
            let status = value("trade_status"), let amount = value("total_amount").flatMap({ Fen(decimal: $0) })
        else { return refuse("fields") }
        let db = context.db
        let paid = status == "TRADE_SUCCESS" || status == "TRADE_FINISHED"
        let outcome: String
        do {
            let order = try PaymentOrder.find(number: number, userID: nil, timeout: context.settings.orderTimeout, db: db)
            if case let .refund(outBizNo, _) = NotificationKind.of(params) {
                // A refund event, never a payment (docs/REFUNDS.md, "Notifications"): recorded, never
                // settled; its trade may be one the shop refunds whole (a payment of another amount).
                outcome = try recordRefund(
                    params, orderNumber: number, orderID: order?.id, tradeNo: tradeNo, status: status, amount: amount,
                    outBizNo: outBizNo, db: db)
            } else {
                guard let order else { return refuse("unknown order") }
                guard amount == order.realPrice else { return refuse("amount") }
                outcome = try record(params, order: order, tradeNo: tradeNo, status: status, amount: amount, paid: paid, db: db)
            }
        } catch {
            // Not stored (database down, or anything else): Alipay answers `fail` with a retry
            // later (README, "POST /payments/alipay/notify"); the exactly-once settlement makes
            // that retry safe.
            ShopMetrics.notification(outcome: "not_stored")
            log.error("notification not stored", metadata: ["out_trade_no": "\(number)", "error": "\(error)"])
            return .text("fail")
        }
        ShopMetrics.notification(outcome: "handled")
        log.info(
            "notification handled", metadata: ["out_trade_no": "\(number)", "trade_status": "\(status)", "outcome": "\(outcome)"])
        return .text("success")
    }

    /// Settles (for a paid status) and records the notification, in one transaction (also what
    /// `luffy-pay-ceiling` replays).
    package static func record(
        _ params: [(String, String)], order: PaymentOrder, tradeNo: String, status: String,
        amount: Fen, paid: Bool, db: Database
    ) throws -> String {
        let number = order.number
        var settlement: Settlement.Outcome?
        let recorded = try db.transaction { () -> String in
            let result: String
            settlement = nil
            if paid {
                let outcome = try Settlement.settle(orderID: order.id, tradeNo: tradeNo, amount: amount, source: .notify, db: db)
                settlement = outcome
                switch outcome {
                case .settled: result = "settled"
                case .alreadyPaid: result = "already_paid"
                case let .refundNeeded(reason): result = "refund_needed:\(reason)"
                case .closed: result = "closed"
                }
            } else {
                result = "recorded"
            }
            try insertNotification(
                params, orderNumber: number, orderID: order.id, tradeNo: tradeNo, status: status, amount: amount,
                outcome: result, db: db)
            return result
        }
        // Counted once committed: a rolled-back or retried attempt is not a settlement.
        if let settlement { ShopMetrics.settled(settlement, source: .notify) }
        return recorded
    }

    /// A refund notification (`trade_status_sync` with `out_biz_no`, `gmt_refund` or a `refund_fee`,
    /// README "Refunds"): recorded with outcome `refund_matched` when (`trade_no`, `out_biz_no`)
    /// names one of our refunds, `refund_external` otherwise (a refund made outside the service,
    /// e.g. in Alipay's merchant console: the row is the record to reconcile it from). It never
    /// settles and never creates a refund. A signed report of our refund number is Alipay saying
    /// the money moved: a matched refund still `processing` or `unknown` succeeds through
    /// `RefundSettlement` (once, whoever learns of it first; the event keeps the notification).
    private static func recordRefund(
        _ params: [(String, String)], orderNumber: String, orderID: Int64?, tradeNo: String, status: String, amount: Fen,
        outBizNo: String?, db: Database
    ) throws -> String {
        let matched = try outBizNo.flatMap { number in
            try db.query(
                "SELECT \(Refund.columns) FROM ly_refund r WHERE r.trade_no = \(tradeNo) AND r.out_request_no = \(number)",
                as: Refund.self
            ).first
        }
        let outcome = matched == nil ? "refund_external" : "refund_matched"
        try insertNotification(
            params, orderNumber: orderNumber, orderID: orderID, tradeNo: tradeNo, status: status, amount: amount,
            outcome: outcome, db: db)
        if let refund = matched, refund.state.isInFlight {
            let fee = params.first { $0.0 == "refund_fee" }?.1 ?? ""
            let evidence = RefundGatewayAnswer(
                subCode: refund.subCode, subMsg: refund.subMsg, fundChange: refund.fundChange, raw: rawParams(params))
            // false: the worker recorded its outcome meanwhile.
            try RefundSettlement.succeed(
                refundID: refund.id, from: refund.state, actor: "notify",
                change: RefundChange(gateway: evidence, note: "refund notification (\(status), refund_fee \(fee))"), db: db)
        }
        return outcome
    }

    private static func insertNotification(
        _ params: [(String, String)], orderNumber: String, orderID: Int64?, tradeNo: String, status: String, amount: Fen,
        outcome: String, db: Database
    ) throws {
        let notifyID = params.first { $0.0 == "notify_id" }?.1 ?? ""
        try db.execute(
            """
            INSERT INTO ly_alipay_notification (notify_id, out_trade_no, trade_no, trade_status, total_amount, params, outcome,
                                                order_id, created_time)
            VALUES (\(notifyID), \(orderNumber), \(tradeNo), \(status), \(amount), \(rawParams(params)), \(outcome),
                    \(orderID), NOW(6))
            """)
    }

    /// The notification's parameters as a JSON object, as stored.
    private static func rawParams(_ params: [(String, String)]) -> String {
        String(decoding: JSON.object(params.map { ($0.0, .string($0.1)) }).serialized, as: UTF8.self)
    }

    /// `GET /payments/alipay/result?…`: the buyer's browser back from Alipay. The return proves
    /// nothing by itself: an unpaid order is settled only when the gateway confirms the trade.
    static func handleResult(_ request: Request, _ context: RequestContext) throws -> Response {
        let gateway = context.gateway
        func value(_ key: String) -> String? { request.queryValue(key) }
        guard AlipayParameters.verify(params: request.query, publicKey: gateway.alipayKey), value("app_id") == gateway.appID
        else { throw PaymentError.invalidSignature }
        let db = context.db
        // Causal: the notification may have settled the order through another node a moment ago,
        // and the order may even have been made there. Read stale, the return would ask the
        // gateway and settle again (to find it paid after a certification retry), or answer 404.
        // The summary below reads on the same node after this, so it sees at least as much.
        guard let number = value("out_trade_no"),
            let order = try PaymentOrder.find(
                number: number, userID: nil, timeout: context.settings.orderTimeout, causal: true, db: db)
        else { throw OrderError.orderNotFound }
        guard value("total_amount").flatMap({ Fen(decimal: $0) }) == order.realPrice else { throw PaymentError.amountMismatch }

        let confirmation = PaymentConfirmation(gateway: gateway, db: db, log: context.log)
        switch order.status {
        case .paid, .refunded:
            break
        case .cancelled, .timedOut:
            // A payment that reached a closed order is recorded for refund, never applied.
            _ = try confirmation.confirm(order, source: .return)
            throw PaymentError.orderClosed
        case .unpaid:
            switch try confirmation.confirm(order, source: .return) {
            case nil: throw PaymentError.paymentPending
            case .settled?, .alreadyPaid?: break
            case .refundNeeded?, .closed?: throw PaymentError.orderClosed
            }
        }
        return .json(try paidOrderSummary(orderID: order.id, media: context.settings.mediaURL, db: db))
    }

    /// `GET /payments/alipay/query/<order_number>`: the owner asks whether it is paid yet.
    static func handleQuery(_ request: Request, _ context: SignedInContext) throws -> Response {
        // The buyer asks right after paying, and the notification may have settled the order
        // through another node: the sign-in read (Authenticator) was causal, so this read sees it
        // rather than asking the gateway for nothing.
        let order = try PaymentOrder.owned(request, context)
        let paidAnswer = Response.json(["errmsg": "当前订单已支付!", "order_status": .int(OrderStatus.paid.rawValue)])
        let confirmation = PaymentConfirmation(gateway: context.gateway, db: context.db, log: context.log)
        switch order.status {
        case .paid:
            return paidAnswer
        case .refunded:
            return .json(["errmsg": "当前订单已退款!", "order_status": .int(OrderStatus.refunded.rawValue)])
        case .cancelled, .timedOut:
            if order.payLinkIssued { _ = try confirmation.confirm(order, source: .query) }
            throw PaymentError.orderClosed
        case .unpaid:
            switch try confirmation.confirm(order, source: .query) {
            case nil: throw PaymentError.orderUnpaid
            case .settled?, .alreadyPaid?: return paidAnswer
            case .refundNeeded?, .closed?: throw PaymentError.orderClosed
            }
        }
    }

    /// What the success page shows: the order and its courses.
    static func paidOrderSummary(orderID: Int64, media: MediaURL, db: Database) throws -> JSON {
        let rows = try db.query(
            """
            SELECT o.order_number, o.order_status, o.pay_time, o.real_price, c.id, c.name, c.course_cover, oc.expire_text
            FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id LEFT JOIN ly_course c ON c.id = oc.course_id
            WHERE o.id = \(orderID)
            """, decoding: (String, Int64, String?, Fen, Int64, String?, String?, String).self)
        guard let first = rows.first else { throw OrderError.orderNotFound }
        let courses: [JSON] = rows.sorted { $0.4 < $1.4 }.map { row in
            [
                "id": .int(row.4), "name": .string(row.5 ?? ""),
                "course_cover": media.json(row.6),
                "expire_text": .string(row.7),
            ]
        }
        return [
            "order_number": .string(first.0),
            "order_status": .int(first.1),
            "pay_time": shopTime(first.2),
            "real_price": .money(first.3),
            "course_list": .array(courses),
        ]
    }
}
