import Foundation
import LuffyTestSupport
import Testing

@testable import Alipay
@testable import AlipaySandbox
@testable import FastCGI
@testable import LuffyCore

/// The daily bill through the sandbox's HTTP answers (docs/SANDBOX.md, "Daily bills"): the signed
/// URL query, the one-time download read back with the Alipay module's reader, the bill settings
/// and the move endpoint.
@Suite struct SandboxBillTests {
    typealias Harness = SandboxFlowTests.Harness
    let number = "202611220000000100000001"

    /// A paid trade of 998.00 (at 2026-11-22 10:00:30) with a refund of 100.00 a minute later.
    func paidAndRefunded(_ h: Harness) throws -> Trade {
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        h.clock.advance(30)
        let paid = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", number), ("notify", "0")]))
        #expect(paid.status == 302)
        h.clock.advance(60)
        let refund = try h.api(
            SandboxProtocol.refundMethod,
            ["out_trade_no": .string(number), "refund_amount": "100.00", "out_request_no": "R1"]
        ).1
        #expect(refund["fund_change"] == "Y")
        return try #require(h.sandbox.store.find(outTradeNo: number, now: h.clock.now))
    }

    func billURL(_ h: Harness, _ day: JSON, type: JSON = "trade") throws -> JSON {
        try h.api(SandboxProtocol.billURLMethod, ["bill_type": type, "bill_date": day]).1
    }

    func download(_ h: Harness, _ url: String) -> Response {
        let parts = url.split(separator: "?", maxSplits: 1)
        let path = String(parts[0].dropFirst("http://127.0.0.1".count))
        return h.sandbox.respond(to: Fixtures.get(path, query: URLCoding.decodeForm(parts.count > 1 ? parts[1] : "")))
    }

    func header(_ response: Response, _ name: String) -> String? { response.headers.first { $0.0 == name }?.1 }

    func settings(_ h: Harness, _ body: String? = nil) -> (Int, String) {
        let request =
            body.map { Request(method: "POST", path: "/sandbox/bill-settings", body: Array($0.utf8)) }
            ?? Request(method: "GET", path: "/sandbox/bill-settings")
        let response = h.sandbox.respond(to: request)
        return (response.status.code, String(decoding: response.body, as: UTF8.self))
    }

    @Test func theURLIsGivenForDaysBeforeTodayOnly() throws {
        let h = try Harness()  // today: 2026-11-22 in Shanghai
        let answer = try billURL(h, "2026-11-21")
        #expect(answer["code"] == "10000" && answer["msg"] == "Success")
        let url = try #require(answer["bill_download_url"]?.stringValue)
        let prefix =
            "http://127.0.0.1/downloadBillFile.resource?bizType=trade&userId=\(Fixtures.sellerID)&fileType=csv.zip"
            + "&bizDates=20261121&downloadFileName=\(Fixtures.sellerID)_20261121.csv.zip&timestamp=\(Fixtures.start)&token="
        #expect(url.hasPrefix(prefix) && url.count == prefix.count + 32, "\(url)")

        for day: JSON in ["2026-11-22", "2026-11-23", "2030-01-01"] {
            let refused = try billURL(h, day)
            #expect(refused == SandboxProtocol.refusalContent(.billNotExist), "\(day)")
            #expect(refused["code"] == "40004" && refused["sub_code"] == "isp.bill_not_exist")
        }
        // shop time: 16:00 UTC is midnight in Shanghai
        h.clock.advance(14 * 3600 - 1)
        #expect(try billURL(h, "2026-11-22")["sub_code"] == "isp.bill_not_exist")
        h.clock.advance(1)
        #expect(try billURL(h, "2026-11-22")["code"] == "10000")
        // the `today` setting moves readiness only
        #expect(settings(h, #"{"today":"2026-11-22"}"#).0 == 200)
        #expect(try billURL(h, "2026-11-22")["sub_code"] == "isp.bill_not_exist")
        #expect(try billURL(h, "2026-11-21")["code"] == "10000")

        // the Host the app called: the URL leads back to the same sandbox
        let params = try Fixtures.apiParameters(
            keys: h.keys, method: SandboxProtocol.billURLMethod, biz: ["bill_type": "trade", "bill_date": "2026-11-20"])
        for (host, forwarded, expected) in [
            ("127.0.0.1:18290", nil, "127.0.0.1:18290"), ("127.0.0.1", "127.0.0.1:18290", "127.0.0.1:18290"),
            ("evil.example/x?", nil, "127.0.0.1"), ("", nil, "127.0.0.1"), ("127.0.0.1", "a b", "127.0.0.1"),
        ] {
            var request = Fixtures.post("/gateway.do", form: params)
            request.headers["host"] = host
            request.headers["x-forwarded-host"] = forwarded
            let response = h.sandbox.respond(to: request)
            let content = try AlipayResponse.verified(
                body: response.body, method: SandboxProtocol.billURLMethod, publicKey: h.keys.alipayPublic)
            #expect(content["bill_download_url"]?.stringValue?.hasPrefix("http://\(expected)/downloadBillFile.resource?") == true)
        }
    }

    @Test func theQueryIsCheckedAndRefusedLikeEveryMethod() throws {
        let h = try Harness()
        for (type, day, subCode): (JSON, JSON, String) in [
            ("signcustomer", "2026-11-21", "isv.invalid-bill-type"), (.null, "2026-11-21", "isv.invalid-bill-type"),
            ("trade", "2026-11", "isv.invalid-bill-date"), ("trade", "2026/11/21", "isv.invalid-bill-date"),
            ("trade", "2026-11-31", "isv.invalid-bill-date"), ("trade", 20_261_121, "isv.invalid-bill-date"),
            ("trade", .null, "isv.invalid-bill-date"),
        ] {
            let refused = try billURL(h, day, type: type)
            #expect(refused["code"] == "40002" && refused["sub_code"]?.stringValue == subCode, "\(type) \(day)")
        }
        // signed with a key that is not the app's
        let forged = try Fixtures.apiParameters(
            keys: h.keys, method: SandboxProtocol.billURLMethod, biz: ["bill_type": "trade", "bill_date": "2026-11-21"],
            key: h.keys.alipay)
        let response = h.sandbox.respond(to: Fixtures.post("/gateway.do", form: forged))
        let content = try AlipayResponse.verified(
            body: response.body, method: SandboxProtocol.billURLMethod, publicKey: h.keys.alipayPublic)
        #expect(content["sub_code"] == "isv.invalid-signature" && content["bill_download_url"] == nil)
    }

    @Test func theDownloadIsAlipaysBillOnceAndUntilItExpires() throws {
        let h = try Harness()
        let trade = try paidAndRefunded(h)
        h.clock.advance(86_400)  // 2026-11-23: yesterday's bill exists
        let url = try #require(try billURL(h, "2026-11-22")["bill_download_url"]?.stringValue)
        let file = download(h, url)
        #expect(file.status == 200)
        #expect(header(file, "Content-Type") == "application/octet-stream")
        #expect(header(file, "Content-Disposition") == "attachment; filename=\"\(Fixtures.sellerID)_20261122.csv.zip\"")
        let names = try ZipArchive.entries(of: file.body, maxTotalBytes: 1 << 20).map { try GBK.decode($0.name) }
        #expect(names == ["\(Fixtures.sellerID)_20261122_业务明细.csv", "\(Fixtures.sellerID)_20261122_业务明细(汇总).csv"])
        let bill = try AlipayBill.parse(zip: file.body)
        #expect(bill.account == Fixtures.sellerID && bill.date == "2026-11-22")
        let tradeNo = try #require(trade.tradeNo)
        let buyer = String(trade.buyerID!.prefix(3)) + "****" + String(trade.buyerID!.suffix(4))
        #expect(
            bill.rows == [
                AlipayBill.Row(
                    tradeNo: tradeNo, outTradeNo: number, kind: .trade, subject: "购买课程", createdTime: "2026-11-22 10:00:00",
                    finishedTime: "2026-11-22 10:00:30", buyerAccount: buyer, amount: Fen(99800), received: Fen(99800)),
                AlipayBill.Row(
                    tradeNo: tradeNo, outTradeNo: number, kind: .refund, subject: "购买课程", createdTime: "2026-11-22 10:00:00",
                    finishedTime: "2026-11-22 10:01:30", buyerAccount: buyer, amount: Fen(-10000), received: Fen(-10000),
                    refundRequestNo: "R1"),
            ])
        #expect(
            bill.totals
                == AlipayBill.Totals(tradeCount: 1, tradeReceived: Fen(99800), refundCount: 1, refundReceived: Fen(-10000)))

        // once
        let again = download(h, url)
        #expect(again.status == 404 && header(again, "Content-Type")?.hasPrefix("text/plain") == true)
        // until it expires: 30 s by default, then the setting
        let late = try #require(try billURL(h, "2026-11-22")["bill_download_url"]?.stringValue)
        h.clock.advance(31)
        #expect(download(h, late).status == 404)
        #expect(settings(h, #"{"url_ttl_s":1}"#).0 == 200)
        let short = try #require(try billURL(h, "2026-11-22")["bill_download_url"]?.stringValue)
        h.clock.advance(1)
        #expect(download(h, short).status == 200)
        let shorter = try #require(try billURL(h, "2026-11-22")["bill_download_url"]?.stringValue)
        h.clock.advance(2)
        #expect(download(h, shorter).status == 404)
        // no token, an unknown one, or two
        let fresh = try #require(try billURL(h, "2026-11-22")["bill_download_url"]?.stringValue)
        #expect(download(h, "http://127.0.0.1/downloadBillFile.resource").status == 404)
        #expect(download(h, "http://127.0.0.1/downloadBillFile.resource?token=00000000000000000000000000000000").status == 404)
        #expect(download(h, fresh + "&token=00000000000000000000000000000000").status == 404)
        // the day without trades has a bill too: no rows, zero totals
        let empty = try #require(try billURL(h, "2026-11-21")["bill_download_url"]?.stringValue)
        let none = try AlipayBill.parse(zip: download(h, empty).body)
        #expect(none.rows.isEmpty && none.totals == AlipayBill.Totals(of: []))
    }

    @Test func changesAndDamageShowInTheDownloadedFile() throws {
        let h = try Harness()
        let trade = try paidAndRefunded(h)
        h.clock.advance(86_400)
        func bill() throws -> AlipayBill {
            let url = try #require(try billURL(h, "2026-11-22")["bill_download_url"]?.stringValue)
            return try AlipayBill.parse(zip: download(h, url).body)
        }
        let changes = """
            {"changes":[{"kind":"trade_amount","out_trade_no":"\(number)","amount":"1.00"},
             {"kind":"second_trade","out_trade_no":"\(number)","amount":"9.90"},
             {"kind":"foreign_refund","out_trade_no":"\(number)","amount":"3.00","out_request_no":"EXT1"},
             {"kind":"refund_amount","out_request_no":"R1","amount":"2.00"}]}
            """
        #expect(settings(h, changes).0 == 200)
        let changed = try bill()
        #expect(changed.rows.map(\.amount) == [Fen(100), Fen(990), Fen(-300), Fen(-200)])
        #expect(changed.rows.map(\.refundRequestNo) == ["", "", "EXT1", "R1"])
        #expect(changed.rows[1].tradeNo != trade.tradeNo && changed.rows[1].outTradeNo == number)

        #expect(
            settings(
                h,
                #"{"changes":[{"kind":"drop_trade","out_trade_no":"\#(number)"},{"kind":"drop_refund","out_request_no":"R1"}]}"#
            ).0 == 200)
        #expect(try bill().rows.isEmpty)

        #expect(settings(h, #"{"corrupt":"footer"}"#).0 == 200)
        #expect(throws: BillError.self) { try bill() }
        let url = try #require(try billURL(h, "2026-11-22")["bill_download_url"]?.stringValue)
        let footer = download(h, url).body
        #expect(try ZipArchive.entries(of: footer, maxTotalBytes: 1 << 20).count == 2)  // a good zip: only the totals lie
        do {
            _ = try AlipayBill.parse(zip: footer)
            Issue.record("a footer that disagrees was read")
        } catch {
            guard case .totalsMismatch = error else { throw error }
        }

        #expect(settings(h, #"{"corrupt":"zip"}"#).0 == 200)
        let zipURL = try #require(try billURL(h, "2026-11-22")["bill_download_url"]?.stringValue)
        let broken = download(h, zipURL)
        #expect(broken.status == 200 && !broken.body.isEmpty)
        #expect(throws: BillError.self) { try ZipArchive.entries(of: broken.body, maxTotalBytes: 1 << 20) }

        #expect(settings(h, "{}").1 == #"{"today":null,"url_ttl_s":30,"corrupt":null,"changes":[]}"#)
        #expect(try bill().rows.count == 2)
    }

    @Test func billSettingsRefuseHostileBodiesAndChangeNothing() throws {
        let h = try Harness()
        let good = #"{"today":"2026-12-01","url_ttl_s":5,"corrupt":"zip","changes":[{"kind":"next_day","out_trade_no":"A"}]}"#
        let (status, body) = settings(h, good)
        #expect(status == 200)
        #expect(
            body == #"{"today":"2026-12-01","url_ttl_s":5,"corrupt":"zip","changes":[{"kind":"next_day","out_trade_no":"A"}]}"#)
        for hostile in [
            "", "today=2026-12-01", "{", "[]", #"{"today":"2026-12-01","today":null}"#, #"{"url_ttl_s":-1}"#,
            #"{"changes":[{"kind":"next_day","out_trade_no":"A","extra":1}]}"#, "{\"corrupt\":\"zip\"}\u{0}",
        ] {
            let (status, text) = settings(h, hostile)
            let json = try JSON.parse(Array(text.utf8))
            #expect(
                status == 400 && json["code"] == "invalid_bill_setting" && json["errmsg"]?.stringValue?.isEmpty == false,
                "\(hostile)")
        }
        #expect(settings(h).1 == body)
        #expect(h.sandbox.bills.current.corrupt == .zip)
    }

    @Test func moveIsTimeTravelForPaidTradesOnly() throws {
        let h = try Harness()
        _ = try paidAndRefunded(h)
        func move(_ n: String, _ body: String) -> (Int, JSON?) {
            let response = h.sandbox.respond(
                to: Request(method: "POST", path: "/sandbox/trades/\(n)/move", body: Array(body.utf8)))
            return (response.status.code, try? JSON.parse(response.body))
        }
        let (status, record) = move(number, #"{"day":"2026-11-20"}"#)
        #expect(status == 200)
        #expect(record?["gmt_create"] == "2026-11-20 10:00:00" && record?["gmt_payment"] == "2026-11-20 10:00:30")
        guard case let .array(refunds)? = record?["refunds"] else { throw TradeError.notFound }
        #expect(refunds.first?["gmt_refund_pay"] == "2026-11-20 10:01:30")
        // on the bill of that day now
        let url = try #require(try billURL(h, "2026-11-20")["bill_download_url"]?.stringValue)
        #expect(try AlipayBill.parse(zip: download(h, url).body).rows.map(\.outTradeNo) == [number, number])

        for body in [
            "", "{}", #"{"day":"2026-11-31"}"#, #"{"day":"2026-11-20","x":1}"#, #"{"day":20261120}"#, "[]", "day=2026-11-20",
        ] {
            let (status, json) = move(number, body)
            #expect(status == 400 && json?["code"] == "invalid_day", "\(body)")
        }
        #expect(move("NOPE", #"{"day":"2026-11-20"}"#).1?["code"] == "trade_not_found")
        #expect(move("NOPE", #"{"day":"2026-11-20"}"#).0 == 404)
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys, outTradeNo: "UNPAID"))
        let unpaid = move("UNPAID", #"{"day":"2026-11-20"}"#)
        #expect(unpaid.0 == 409 && unpaid.1?["code"] == "trade_not_paid")
    }
}
