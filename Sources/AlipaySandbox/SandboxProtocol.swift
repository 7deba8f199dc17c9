public import Alipay
public import LuffyCore

/// An answer Alipay gives instead of doing what was asked: `code`/`msg` and the `sub_code`/`sub_msg`
/// that say why (gateway JSON), or the error page's 错误代码 (page pay).
public struct GatewayRefusal: Error, Equatable, Sendable {
    public let code: String
    public let msg: String
    public let subCode: String
    public let subMsg: String

    public init(_ code: String, _ msg: String, _ subCode: String, _ subMsg: String) {
        self.code = code
        self.msg = msg
        self.subCode = subCode
        self.subMsg = subMsg
    }

    static func missing(_ subCode: String, _ subMsg: String) -> GatewayRefusal {
        GatewayRefusal("40001", "Missing Required Arguments", subCode, subMsg)
    }

    static func invalid(_ subCode: String, _ subMsg: String) -> GatewayRefusal {
        GatewayRefusal("40002", "Invalid Arguments", subCode, subMsg)
    }

    static func business(_ subCode: String, _ subMsg: String) -> GatewayRefusal {
        GatewayRefusal("40004", "Business Failed", subCode, subMsg)
    }

    public static let missingMethod = missing("isv.missing-method", "缺少方法名参数")
    public static let invalidMethod = invalid("isv.invalid-method", "不存在的方法名")
    public static let missingAppID = missing("isv.missing-app-id", "缺少AppID参数")
    public static let invalidAppID = invalid("isv.invalid-app-id", "无效的AppID参数")
    public static let missingSignature = missing("isv.missing-signature", "缺少签名参数")
    public static let missingSignType = missing("isv.missing-signature-type", "缺少签名类型参数")
    public static let invalidSignType = invalid("isv.invalid-signature-type", "无效的签名类型")
    public static let invalidSignature = invalid("isv.invalid-signature", "验签出错")
    public static let invalidCharset = invalid("isv.invalid-charset", "字符集错误")
    public static let invalidFormat = invalid("isv.invalid-format", "参数格式错误")
    public static let duplicateParameter = invalid("isv.invalid-parameter", "参数重复")
    public static func invalidParameter(_ detail: String) -> GatewayRefusal {
        business("ACQ.INVALID_PARAMETER", "参数无效: \(detail)")
    }
    public static let tradeNotExist = business("ACQ.TRADE_NOT_EXIST", "交易不存在")
    public static let tradeStatusError = business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    public static let tradeHasChanged = business("ACQ.TRADE_HAS_CHANGE", "交易信息被篡改（同一订单号的金额不一致）")
    public static let tradeHasClosed = business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
    public static let tradeHasSucceeded = business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
    public static let invalidBillType = invalid("isv.invalid-bill-type", "账单类型不正确")
    public static let invalidBillDate = invalid("isv.invalid-bill-date", "账单时间格式不正确")
    /// Today's, a later day's, or a bill not made yet: try again later.
    public static let billNotExist = business("isp.bill_not_exist", "账单不存在")
}

/// Alipay's protocol rules (docs/SANDBOX.md) as the gateway's side sees them. Pure: no I/O, no
/// clock.
public enum SandboxProtocol {
    public static let queryMethod = "alipay.trade.query"
    public static let closeMethod = "alipay.trade.close"
    public static let refundMethod = "alipay.trade.refund"
    public static let refundQueryMethod = "alipay.trade.fastpay.refund.query"
    public static let returnMethod = "alipay.trade.page.pay.return"
    public static let billURLMethod = "alipay.data.dataservice.bill.downloadurl.query"
    public static let methods: Set<String> = [
        AlipayParameters.pagePayMethod, queryMethod, closeMethod, refundMethod, refundQueryMethod, billURLMethod,
    ]

    // MARK: Requests from the app

    /// The checks Alipay makes on every request before looking at its business: known method, our
    /// app_id, RSA2, UTF-8, and the app's signature over Alipay's signing string (every parameter
    /// but `sign` — `sign_type` included, as the app signs it — non-empty, sorted, raw values) of
    /// the decoded parameters. Returns the method.
    public static func checkRequest(_ params: [(String, String)], appID: String, appKey: RSAPublicKey) throws -> String {
        var seen = Set<String>()
        for (key, _) in params where !seen.insert(key).inserted { throw GatewayRefusal.duplicateParameter }
        func value(_ key: String) -> String? {
            guard let v = params.first(where: { $0.0 == key })?.1, !v.isEmpty else { return nil }
            return v
        }
        guard let method = value("method") else { throw GatewayRefusal.missingMethod }
        guard methods.contains(method) else { throw GatewayRefusal.invalidMethod }
        guard let app = value("app_id") else { throw GatewayRefusal.missingAppID }
        guard app == appID else { throw GatewayRefusal.invalidAppID }
        guard let sign = value("sign") else { throw GatewayRefusal.missingSignature }
        guard let signType = value("sign_type") else { throw GatewayRefusal.missingSignType }
        guard signType == AlipayParameters.signType else { throw GatewayRefusal.invalidSignType }
        if let charset = value("charset"), charset.lowercased() != "utf-8" { throw GatewayRefusal.invalidCharset }
        if let format = value("format"), format.uppercased() != "JSON" { throw GatewayRefusal.invalidFormat }
        guard let signature = Base64.decode(sign), !signature.isEmpty,
            appKey.verify(signature: signature, data: Array(AlipayParameters.signingString(params).utf8))
        else {
            throw GatewayRefusal.invalidSignature
        }
        return method
    }

    /// `biz_content` as a JSON object (also of refunds: `RefundRules`).
    static func bizContent(_ params: [(String, String)]) throws -> JSON {
        guard let text = params.first(where: { $0.0 == "biz_content" })?.1, !text.isEmpty else {
            throw GatewayRefusal.invalidParameter("缺少 biz_content")
        }
        guard let json = try? JSON.parse(Array(text.utf8)), case .object = json else {
            throw GatewayRefusal.invalidParameter("biz_content 不是 JSON 对象")
        }
        return json
    }

    /// The page-pay request's order: biz_content `out_trade_no`, `total_amount` (a string with
    /// exactly two decimals, 0.01 to 100000000.00), `subject`, `product_code`
    /// FAST_INSTANT_TRADE_PAY, optional `time_expire` (`yyyy-MM-dd HH:mm:ss`); plus the
    /// `return_url` and `notify_url` parameters.
    public static func pagePayOrder(_ params: [(String, String)], time: ShopClock) throws -> PagePayOrder {
        let biz = try bizContent(params)
        guard let outTradeNo = biz["out_trade_no"]?.stringValue, isOutTradeNo(outTradeNo) else {
            throw GatewayRefusal.invalidParameter("out_trade_no 须为 1 到 64 位字母、数字或下划线")
        }
        guard let amount = biz["total_amount"]?.stringValue.flatMap(SandboxProtocol.amount) else {
            throw GatewayRefusal.invalidParameter("total_amount 须为两位小数的字符串，0.01 至 100000000.00")
        }
        guard let subject = biz["subject"]?.stringValue, !subject.isEmpty, subject.count <= 256 else {
            throw GatewayRefusal.invalidParameter("subject 不能为空，最长 256 个字符")
        }
        guard biz["product_code"]?.stringValue == AlipayParameters.productCode else {
            throw GatewayRefusal.invalidParameter("product_code 须为 \(AlipayParameters.productCode)")
        }
        var expire: Int64?
        if let value = biz["time_expire"] {
            guard let text = value.stringValue, let t = time.parse(text) else {
                throw GatewayRefusal.invalidParameter("time_expire 须为 yyyy-MM-dd HH:mm:ss")
            }
            expire = t
        }
        func url(_ key: String) -> String? {
            guard let v = params.first(where: { $0.0 == key })?.1, !v.isEmpty else { return nil }
            return v
        }
        return PagePayOrder(
            outTradeNo: outTradeNo, totalAmount: amount, subject: subject, timeExpire: expire,
            returnURL: url("return_url"), notifyURL: url("notify_url"))
    }

    /// `{"out_trade_no": …}` or `{"trade_no": …}` of a query or close.
    public static func tradeReference(_ params: [(String, String)]) throws -> (outTradeNo: String?, tradeNo: String?) {
        let biz = try bizContent(params)
        let outTradeNo = biz["out_trade_no"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let tradeNo = biz["trade_no"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        guard outTradeNo != nil || tradeNo != nil else {
            throw GatewayRefusal.invalidParameter("out_trade_no 与 trade_no 不能同时为空")
        }
        return (outTradeNo, tradeNo)
    }

    /// An amount as Alipay takes it: a string with exactly two decimals, 0.01 to 100000000.00.
    static func amount(_ text: String) -> Fen? {
        guard let amount = Fen(decimal: text), amount.description == text, amount >= Fen(1), amount <= Fen(100_000_000_00)
        else { return nil }
        return amount
    }

    /// `biz_content` of `alipay.data.dataservice.bill.downloadurl.query`: `bill_type` "trade" (the
    /// only kind the sandbox makes) and `bill_date` `yyyy-MM-dd` (Alipay's monthly `yyyy-MM` is
    /// not made either). Returns the day.
    public static func billDate(_ params: [(String, String)], time: ShopClock) throws -> String {
        let biz = try bizContent(params)
        guard biz["bill_type"]?.stringValue == "trade" else { throw GatewayRefusal.invalidBillType }
        guard let day = biz["bill_date"]?.stringValue, BillDays.isDay(day, time: time) else {
            throw GatewayRefusal.invalidBillDate
        }
        return day
    }

    static func isOutTradeNo(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == UInt8(ascii: "_")
            }
    }

    // MARK: What the sandbox signs

    /// Parameters signed by Alipay's verification-string rules (no `sign`, no `sign_type`, no
    /// empty values, sorted, raw values) with the "Alipay" key: `sign` is inserted at `signAt`.
    public static func signedForVerification(_ params: [(String, String)], signAt: Int, key: RSAPrivateKey) throws -> [(
        String, String
    )] {
        var unsigned = params.filter { $0.0 != "sign" }
        let signature = try key.sign(Array(AlipayParameters.verificationString(unsigned).utf8))
        unsigned.insert(("sign", Base64.encode(signature)), at: min(max(signAt, 0), unsigned.count))
        return unsigned
    }

    /// The synchronous return's parameters, in the order Alipay sends them.
    public static func returnParameters(
        trade: Trade, appID: String, sellerID: String, timestamp: String,
        key: RSAPrivateKey
    ) throws -> [(String, String)] {
        let params: [(String, String)] = [
            ("charset", "utf-8"),
            ("out_trade_no", trade.outTradeNo),
            ("method", returnMethod),
            ("total_amount", trade.totalAmount.description),
            ("trade_no", trade.tradeNo ?? ""),
            ("auth_app_id", appID),
            ("version", "1.0"),
            ("app_id", appID),
            ("sign_type", AlipayParameters.signType),
            ("seller_id", sellerID),
            ("timestamp", timestamp),
        ]
        return try signedForVerification(params, signAt: 4, key: key)
    }

    /// The browser's redirect target: `return_url` + `?` (or `&` when it has a query) + the
    /// URL-encoded return parameters.
    public static func returnLocation(returnURL: String, parameters: [(String, String)]) -> String {
        let url = returnURL.utf8  // by byte: `?` and a combining mark after it are one Character
        let separator =
            url.contains(UInt8(ascii: "?")) ? (url.last == UInt8(ascii: "?") || url.last == UInt8(ascii: "&") ? "" : "&") : "?"
        return returnURL + separator + URLCoding.encodeForm(parameters)
    }

    /// The asynchronous notification's form (`trade_status_sync`) for a paid trade; with a
    /// `refund`, Alipay's refund notification of it: the same form with the trade's status after
    /// that refund (TRADE_SUCCESS partial, TRADE_CLOSED full), `refund_fee` (the refunded total
    /// then), `gmt_refund` (with milliseconds, as Alipay writes it), `out_biz_no` (the refund's
    /// out_request_no) and, when closed, `gmt_close`.
    public static func notificationParameters(
        trade: Trade, refund: RefundRecord? = nil, appID: String, sellerID: String, notifyID: String,
        notifyTime: String, time: ShopClock,
        key: RSAPrivateKey
    ) throws -> [(String, String)] {
        let amount = trade.totalAmount.description
        let status: TradeStatus =
            if let refund { refund.refundFee == trade.totalAmount ? .closed : .success } else { trade.status }
        var params: [(String, String)] = [
            ("gmt_create", time.format(trade.createdAt)),
            ("charset", "utf-8"),
            ("seller_id", sellerID),
            ("subject", trade.order.subject),
            ("buyer_id", trade.buyerID ?? ""),
            ("invoice_amount", amount),
            ("notify_id", notifyID),
            (
                "fund_bill_list",
                String(
                    decoding: JSON.array([["amount": .string(amount), "fundChannel": "ALIPAYACCOUNT"]]).serialized,
                    as: UTF8.self)
            ),
            ("notify_type", "trade_status_sync"),
            ("trade_status", status.rawValue),
            ("receipt_amount", amount),
            ("buyer_pay_amount", amount),
            ("app_id", appID),
            ("sign_type", AlipayParameters.signType),
            ("notify_time", notifyTime),
            ("point_amount", "0.00"),
            ("total_amount", amount),
            ("trade_no", trade.tradeNo ?? ""),
            ("auth_app_id", appID),
            ("out_trade_no", trade.outTradeNo),
            ("gmt_payment", trade.paidAt.map { time.format($0) } ?? ""),
            ("version", "1.0"),
        ]
        if let refund {
            var extra: [(String, String)] = [
                ("refund_fee", refund.refundFee.description),
                ("gmt_refund", time.format(refund.refundedAt) + ".000"),
                ("out_biz_no", refund.outRequestNo),
            ]
            if status == .closed { extra.append(("gmt_close", time.format(refund.refundedAt))) }
            params.insert(contentsOf: extra, at: params.count - 1)
        }
        return try signedForVerification(params, signAt: 13, key: key)
    }

    // MARK: Gateway responses (docs/SANDBOX.md, `alipay.trade.query` | `alipay.trade.close`)

    /// `{"<method>_response":<content>,"sign":"…"}` where `sign` is RSA-SHA256 over exactly the
    /// content's bytes as written here by the project's JSON writer, and those very bytes are what
    /// the body carries.
    public static func responseBody(responseKey: String, content: JSON, key: RSAPrivateKey) throws -> [UInt8] {
        // The writer is deterministic: the content is written inside the body exactly as signed.
        let sign = Base64.encode(try key.sign(content.serialized))
        return JSON.object([(responseKey, content), ("sign", .string(sign))]).serialized
    }

    /// The response member's name: `alipay_trade_query_response`; `error_response` when the method
    /// is missing or unknown.
    public static func responseKey(method: String?) -> String {
        guard let method, methods.contains(method) else { return "error_response" }
        return AlipayResponse.responseKey(method: method)
    }

    public static func refusalContent(_ refusal: GatewayRefusal, outTradeNo: String? = nil) -> JSON {
        var fields: [(String, JSON)] = [
            ("code", .string(refusal.code)), ("msg", .string(refusal.msg)),
            ("sub_code", .string(refusal.subCode)), ("sub_msg", .string(refusal.subMsg)),
        ]
        if let outTradeNo { fields.append(("out_trade_no", .string(outTradeNo))) }
        return .object(fields)
    }

    /// `alipay.trade.query`'s success content. An unpaid trade has no trade_no yet (the sandbox
    /// gives one when the buyer pays) and a buyer_pay_amount of 0.00.
    public static func queryContent(_ trade: Trade, time: ShopClock) -> JSON {
        var fields: [(String, JSON)] = [("code", "10000"), ("msg", "Success")]
        if let buyer = trade.buyerID { fields.append(("buyer_user_id", .string(buyer))) }
        fields.append(("out_trade_no", .string(trade.outTradeNo)))
        if let tradeNo = trade.tradeNo { fields.append(("trade_no", .string(tradeNo))) }
        fields.append(("trade_status", .string(trade.status.rawValue)))
        fields.append(("total_amount", .string(trade.totalAmount.description)))
        // paid: also once refunded in full (closed) or finished
        let paid = trade.paidAt != nil
        fields.append(("buyer_pay_amount", .string(paid ? trade.totalAmount.description : "0.00")))
        if paid {
            fields.append(("receipt_amount", .string(trade.totalAmount.description)))
            if let at = trade.paidAt { fields.append(("send_pay_date", .string(time.format(at)))) }
        }
        return .object(fields)
    }

    /// `alipay.trade.close`'s success content.
    public static func closeContent(_ trade: Trade) -> JSON {
        var fields: [(String, JSON)] = [("code", "10000"), ("msg", "Success")]
        if let tradeNo = trade.tradeNo { fields.append(("trade_no", .string(tradeNo))) }
        fields.append(("out_trade_no", .string(trade.outTradeNo)))
        return .object(fields)
    }
}
