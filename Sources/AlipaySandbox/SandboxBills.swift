import Alipay
import FastCGI
import Logging
import LuffyCore

/// The daily bill (docs/SANDBOX.md, "Daily bills"): the URL query on /gateway.do, the one-time
/// download, the bill settings and the trades' time travel for tests.
extension Sandbox {
    /// `alipay.data.dataservice.bill.downloadurl.query`: a day before the sandbox's today (shop
    /// time, or the `today` setting) has a bill; today and later are `isp.bill_not_exist`.
    func billURL(_ params: [(String, String)], request: Request) -> Response {
        let method = SandboxProtocol.billURLMethod
        let now = clock()
        let day: String
        do { day = try SandboxProtocol.billDate(params, time: time) } catch {
            return signedJSON(
                method: method, content: SandboxProtocol.refusalContent(error as? GatewayRefusal ?? .invalidBillDate))
        }
        let settings = bills.current
        let today = settings.today ?? String(time.format(now).prefix(10))
        guard day < today else {
            log.info("bill not ready", metadata: ["bill_date": "\(day)", "today": "\(today)"])
            return signedJSON(method: method, content: SandboxProtocol.refusalContent(.billNotExist))
        }
        let token = downloads.issue(day: day, now: now, ttl: settings.urlTTL)
        let compact = day.filter { $0 != "-" }
        let query = URLCoding.encodeForm([
            ("bizType", "trade"), ("userId", sellerID), ("fileType", "csv.zip"), ("bizDates", compact),
            ("downloadFileName", "\(sellerID)_\(compact).csv.zip"), ("timestamp", "\(now)"), ("token", token),
        ])
        let url = "http://\(Sandbox.host(request))/downloadBillFile.resource?\(query)"
        log.info("bill url given", metadata: ["bill_date": "\(day)", "url_ttl_s": "\(settings.urlTTL)"])
        return signedJSON(
            method: method, content: .object([("code", "10000"), ("msg", "Success"), ("bill_download_url", .string(url))]))
    }

    /// The host and port the app called the gateway by, so that the URL leads back here: the
    /// stacks' nginx passes them as X-Forwarded-Host (its Host has no port: nginx/stack.conf.in),
    /// else the Host header; anything that is not a plain host[:port] falls back to the loopback.
    static func host(_ request: Request) -> String {
        guard let host = request.header("x-forwarded-host") ?? request.header("host"), !host.isEmpty, host.utf8.count <= 255,
            host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":") })
        else { return "127.0.0.1" }
        return host
    }

    /// `GET /downloadBillFile.resource?…&token=T`: the bill of the token's day made now from the
    /// trades, once per token and within its time to live; 404 otherwise.
    func handleBillDownload(_ request: Request) -> Response {
        let now = clock()
        let tokens = request.query.filter { $0.0 == "token" }
        guard tokens.count == 1, let day = downloads.redeem(tokens[0].1, now: now) else {
            return .text("账单下载链接无效或已过期\n", status: 404)
        }
        let settings = bills.current
        let bill = AlipayBill(
            account: sellerID, date: day,
            rows: BillBook.lines(day: day, trades: store.snapshot().values, changes: settings.changes, time: time).map {
                $0.row(time: time)
            })
        var file = bill
        if settings.corrupt == .footer {
            file.totals.tradeCount += 1
            file.totals.tradeReceived = file.totals.tradeReceived + Fen(1)
        }
        var bytes: [UInt8]
        do { bytes = try file.zip(exportedAt: time.format(now)) } catch {
            log.error("making the bill failed", metadata: ["bill_date": "\(day)", "error": "\(error)"])
            return .text("账单生成失败\n", status: 500)
        }
        // the archive without its central directory: no zip reader opens it
        if settings.corrupt == .zip { bytes = Array(bytes.prefix(bytes.count / 2)) }
        log.info(
            "bill downloaded",
            metadata: [
                "bill_date": "\(day)", "rows": "\(bill.rows.count)", "bytes": "\(bytes.count)",
                "corrupt": "\(settings.corrupt?.rawValue ?? "-")", "changes": "\(settings.changes.count)",
            ])
        return Response(
            status: 200,
            headers: [
                ("Content-Type", "application/octet-stream"),
                ("Content-Disposition", "attachment; filename=\"\(bill.fileName)\""),
                ("Cache-Control", "no-store"),
            ],
            body: bytes)
    }

    /// `GET /sandbox/bill-settings`: the settings in force; `POST` a JSON object replaces them all
    /// (`{}`: the defaults); anything malformed is a 400 `invalid_bill_setting`, nothing changed.
    func handleBillSettings(_ request: Request) -> Response {
        if request.method == "POST" {
            do throws(BillSettingsError) {
                guard let json = try? JSON.parse(request.body) else { throw BillSettingsError("the body must be a JSON object") }
                let values = try BillSettings.Values(json: json, time: time)
                bills.set(values)
                log.warning(
                    "bill settings set",
                    metadata: [
                        "today": "\(values.today ?? "-")", "url_ttl_s": "\(values.urlTTL)",
                        "corrupt": "\(values.corrupt?.rawValue ?? "-")", "changes": "\(values.changes.count)",
                    ])
            } catch {
                return .json(["errmsg": .string(error.description), "code": "invalid_bill_setting"], status: 400)
            }
        }
        return .json(bills.current.json)
    }

    /// `POST /sandbox/trades/<n>/move` `{"day": "yyyy-MM-dd"}`: the paid trade's times move so that
    /// its payment falls on that day; 400 `invalid_day`, 404 `trade_not_found`, 409 `trade_not_paid`.
    func handleMove(_ outTradeNo: String, _ request: Request) -> Response {
        let invalid = Response.json(["errmsg": "请求体须为 {\"day\": \"yyyy-MM-dd\"}", "code": "invalid_day"], status: 400)
        guard let json = try? JSON.parse(request.body), case let .object(fields) = json, fields.count == 1,
            let day = json["day"]?.stringValue
        else { return invalid }
        do {
            let trade = try store.move(outTradeNo: outTradeNo, to: day)
            log.warning("trade moved", metadata: ["out_trade_no": "\(outTradeNo)", "day": "\(day)"])
            return handleTradeRecord(trade.outTradeNo)
        } catch TradeError.notFound {
            return .json(["errmsg": "交易不存在", "code": "trade_not_found"], status: 404)
        } catch TradeError.notPaid {
            return .json(["errmsg": "只有已付款的交易可以移动", "code": "trade_not_paid"], status: 409)
        } catch {
            return invalid
        }
    }
}

extension BillLine {
    /// The row as Alipay's bill writes it: 订单金额 = 商家实收, no service fee.
    func row(time: ShopClock) -> AlipayBill.Row {
        AlipayBill.Row(
            tradeNo: tradeNo, outTradeNo: outTradeNo, kind: kind == .trade ? .trade : .refund, subject: subject,
            createdTime: time.format(createdAt), finishedTime: time.format(finishedAt), buyerAccount: buyer,
            amount: amount, received: amount, refundRequestNo: refundRequestNo)
    }
}
