import Foundation
import Synchronization
import Testing

@testable import AlipaySandbox
@testable import LuffyCore

/// Which rows a day's bill holds (docs/SANDBOX.md, "Daily bills"), the planted changes, the bill
/// settings' JSON and the trades' time travel: no HTTP here.
@Suite struct BillBookTests {
    let time = Fixtures.time

    func at(_ text: String) -> Int64 { time.parse(text)! }

    func store() -> TradeStore {
        let counter = Counter()
        return TradeStore(time: time) { n in counter.next(n) }
    }

    @discardableResult
    func pay(_ store: TradeStore, _ number: String, _ amount: String, at paid: String) throws -> Trade {
        let order = PagePayOrder(
            outTradeNo: number, totalAmount: Fen(decimal: amount)!, subject: "课程 \(number)", timeExpire: nil,
            returnURL: nil, notifyURL: nil)
        _ = try store.open(order, now: at(paid) - 30)
        return try store.pay(outTradeNo: number, now: at(paid), notify: false)
    }

    func refund(_ store: TradeStore, _ number: String, _ amount: String, _ requestNo: String, at text: String) throws {
        let request = RefundRequest(
            outTradeNo: number, tradeNo: nil, amount: Fen(decimal: amount)!, outRequestNo: requestNo, reason: nil)
        let done = try store.refund(request, now: at(text), minimumGap: 0)
        guard case .applied = done.outcome else { throw TradeError.closed }
    }

    func lines(_ store: TradeStore, _ day: String, _ changes: [BillChange] = []) -> [BillLine] {
        BillBook.lines(day: day, trades: store.snapshot().values, changes: changes, time: time)
    }

    /// (kind, out_trade_no or out_request_no, amount) of each row, in the bill's order.
    func summary(_ lines: [BillLine]) -> [String] {
        lines.map { line in
            line.kind == .trade ? "交易 \(line.outTradeNo) \(line.amount)" : "退款 \(line.refundRequestNo) \(line.amount)"
        }
    }

    @Test func aDayHoldsThePaymentsAndRefundsOfThatDayInShopTime() throws {
        let store = store()
        try pay(store, "BEFORE", "1.00", at: "2026-11-21 23:59:59")
        try pay(store, "FIRST", "2.00", at: "2026-11-22 00:00:00")
        try pay(store, "LATE", "30.00", at: "2026-11-22 23:59:59")
        try pay(store, "AFTER", "4.00", at: "2026-11-23 00:00:00")
        // paid before midnight, refunded after: the refund is the next day's
        try refund(store, "LATE", "10.00", "LATE-R1", at: "2026-11-23 00:00:01")
        // paid and refunded in full the same day: a trade row (paid) and a refund row; the trade is closed
        try pay(store, "FULL", "5.00", at: "2026-11-22 12:00:00")
        try refund(store, "FULL", "5.00", "FULL-R1", at: "2026-11-22 12:30:00")
        #expect(store.find(outTradeNo: "FULL", now: at("2026-11-22 13:00:00"))?.status == .closed)
        // a refund of an earlier day's payment
        try refund(store, "BEFORE", "0.40", "BEFORE-R1", at: "2026-11-22 08:00:00")
        // unpaid: waiting, and closed without payment
        _ = try store.open(
            PagePayOrder(
                outTradeNo: "WAIT", totalAmount: Fen(100), subject: "课", timeExpire: nil, returnURL: nil, notifyURL: nil),
            now: at("2026-11-22 09:00:00"))
        _ = try store.open(
            PagePayOrder(
                outTradeNo: "SHUT", totalAmount: Fen(100), subject: "课", timeExpire: nil, returnURL: nil, notifyURL: nil),
            now: at("2026-11-22 09:00:00"))
        _ = try store.close(outTradeNo: "SHUT", now: at("2026-11-22 09:10:00"))

        #expect(
            summary(lines(store, "2026-11-22")) == [
                "交易 FIRST 2.00", "退款 BEFORE-R1 -0.40", "交易 FULL 5.00", "退款 FULL-R1 -5.00", "交易 LATE 30.00",
            ])
        #expect(summary(lines(store, "2026-11-21")) == ["交易 BEFORE 1.00"])
        #expect(summary(lines(store, "2026-11-23")) == ["交易 AFTER 4.00", "退款 LATE-R1 -10.00"])
        #expect(lines(store, "2026-11-24").isEmpty)

        let late = try #require(store.find(outTradeNo: "LATE", now: 0))
        let refundRow = try #require(lines(store, "2026-11-23").last)
        #expect(refundRow.tradeNo == late.tradeNo && refundRow.outTradeNo == "LATE" && refundRow.subject == "课程 LATE")
        #expect(refundRow.createdAt == late.createdAt && refundRow.finishedAt == at("2026-11-23 00:00:01"))
        let tradeRow = try #require(lines(store, "2026-11-22").last)
        #expect(tradeRow.tradeNo == late.tradeNo && tradeRow.refundRequestNo == "" && tradeRow.finishedAt == late.paidAt)
        // 对方账户: the buyer masked as Alipay shows a login
        let buyer = try #require(late.buyerID)
        #expect(tradeRow.buyer == String(buyer.prefix(3)) + "****" + String(buyer.suffix(4)))
    }

    @Test func everyChangeKind() throws {
        let store = store()
        try pay(store, "A", "10.00", at: "2026-11-22 09:00:00")
        try pay(store, "B", "20.00", at: "2026-11-22 10:00:00")
        try pay(store, "C", "30.00", at: "2026-11-22 23:59:00")
        try refund(store, "A", "1.00", "A-R1", at: "2026-11-22 11:00:00")
        try refund(store, "B", "2.00", "B-R1", at: "2026-11-22 12:00:00")
        let tradeNoA = try #require(store.find(outTradeNo: "A", now: 0)?.tradeNo)
        let plain = summary(lines(store, "2026-11-22"))
        #expect(plain == ["交易 A 10.00", "交易 B 20.00", "退款 A-R1 -1.00", "退款 B-R1 -2.00", "交易 C 30.00"])

        func with(_ change: BillChange, _ day: String = "2026-11-22") -> [String] { summary(lines(store, day, [change])) }
        #expect(with(.dropTrade(outTradeNo: "B")) == ["交易 A 10.00", "退款 A-R1 -1.00", "退款 B-R1 -2.00", "交易 C 30.00"])
        #expect(with(.tradeAmount(outTradeNo: "B", amount: Fen(1999))) == plain.replacing(["交易 B 20.00"], with: ["交易 B 19.99"]))
        #expect(with(.nextDay(outTradeNo: "C")) == Array(plain.dropLast()))
        #expect(with(.nextDay(outTradeNo: "C"), "2026-11-23") == ["交易 C 30.00"])
        #expect(lines(store, "2026-11-23").isEmpty)
        let second = lines(store, "2026-11-22", [.secondTrade(outTradeNo: "A", amount: Fen(990))])
        #expect(summary(second) == ["交易 A 10.00", "交易 A 9.90"] + plain.dropFirst())
        try #require(second.count == 6)
        #expect(second[1].tradeNo != tradeNoA && second[1].tradeNo.count == tradeNoA.count)
        // the same second trade number every time the bill is made
        #expect(lines(store, "2026-11-22", [.secondTrade(outTradeNo: "A", amount: Fen(990))]) == second)
        let foreign = lines(store, "2026-11-22", [.foreignRefund(outTradeNo: "A", amount: Fen(300), outRequestNo: "EXT1")])
        #expect(summary(foreign) == ["交易 A 10.00", "退款 EXT1 -3.00"] + plain.dropFirst())
        try #require(foreign.count == 6)
        #expect(foreign[1].tradeNo == tradeNoA && foreign[1].outTradeNo == "A")
        #expect(with(.dropRefund(outRequestNo: "A-R1")) == plain.filter { $0 != "退款 A-R1 -1.00" })
        #expect(
            with(.refundAmount(outRequestNo: "B-R1", amount: Fen(200_00)))
                == plain.replacing(["退款 B-R1 -2.00"], with: ["退款 B-R1 -200.00"]))
        // a change naming a row of another day, or no row, leaves this day's bill alone
        #expect(with(.dropTrade(outTradeNo: "A"), "2026-11-21").isEmpty)
        #expect(with(.dropTrade(outTradeNo: "NOPE")) == plain)
        #expect(with(.foreignRefund(outTradeNo: "A", amount: Fen(1), outRequestNo: "X"), "2026-11-23").isEmpty)
        // changes follow the row: a trade moved to the next day is dropped there
        #expect(summary(lines(store, "2026-11-23", [.nextDay(outTradeNo: "C"), .dropTrade(outTradeNo: "C")])).isEmpty)
    }

    /// Bills are made from a snapshot while payments go on: every bill sees whole trades, and the
    /// last one sees every payment.
    @Test func billsWhilePaymentsGoOn() throws {
        let store = store()
        let time = self.time
        let paidAt = at("2026-11-22 12:00:00")
        let made = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 400) { i in
            if i % 4 == 0 {
                let rows = BillBook.lines(day: "2026-11-22", trades: store.snapshot().values, changes: [], time: time)
                if rows.allSatisfy({ $0.kind == .trade && $0.amount == Fen(100) && !$0.tradeNo.isEmpty }) {
                    made.withLock { $0.append(rows.count) }
                }
            } else {
                let order = PagePayOrder(
                    outTradeNo: "C\(i)", totalAmount: Fen(100), subject: "课", timeExpire: nil, returnURL: nil, notifyURL: nil)
                _ = try? store.open(order, now: paidAt - 1)
                _ = try? store.pay(outTradeNo: "C\(i)", now: paidAt, notify: false)
            }
        }
        #expect(made.withLock { $0.count } == 100)
        #expect(lines(store, "2026-11-22").count == 300)
    }

    @Test func settingsJSONIsStrict() throws {
        func parse(_ text: String) throws(BillSettingsError) -> BillSettings.Values {
            guard let json = try? JSON.parse(Array(text.utf8)) else { throw BillSettingsError("not JSON") }
            return try BillSettings.Values(json: json, time: time)
        }
        #expect(try parse("{}") == BillSettings.Values())
        let full = try parse(
            #"""
            {"today":"2026-12-01","url_ttl_s":5,"corrupt":"footer","changes":[
             {"kind":"drop_trade","out_trade_no":"A"},{"kind":"trade_amount","out_trade_no":"A","amount":"1.00"},
             {"kind":"next_day","out_trade_no":"A"},{"kind":"second_trade","out_trade_no":"A","amount":"9.90"},
             {"kind":"foreign_refund","out_trade_no":"A","amount":"1.00","out_request_no":"EXT-1"},
             {"kind":"drop_refund","out_request_no":"R1"},{"kind":"refund_amount","out_request_no":"R1","amount":"2.00"}]}
            """#)
        #expect(full.today == "2026-12-01" && full.urlTTL == 5 && full.corrupt == .footer)
        #expect(
            full.changes == [
                .dropTrade(outTradeNo: "A"), .tradeAmount(outTradeNo: "A", amount: Fen(100)), .nextDay(outTradeNo: "A"),
                .secondTrade(outTradeNo: "A", amount: Fen(990)),
                .foreignRefund(outTradeNo: "A", amount: Fen(100), outRequestNo: "EXT-1"),
                .dropRefund(outRequestNo: "R1"), .refundAmount(outRequestNo: "R1", amount: Fen(200)),
            ])
        // what GET shows is what POST takes
        #expect(try BillSettings.Values(json: full.json, time: time) == full)
        #expect(
            String(decoding: BillSettings.Values().json.serialized, as: UTF8.self)
                == #"{"today":null,"url_ttl_s":30,"corrupt":null,"changes":[]}"#)
        #expect(try parse(#"{"today":null,"corrupt":null,"changes":[]}"#) == BillSettings.Values())

        for hostile in [
            "[]", #""x""#, "null", #"{"colour":"red"}"#, #"{"today":"2026-02-30"}"#, #"{"today":"2026-1-01"}"#,
            #"{"today":"2026-12-01 00:00:00"}"#, #"{"today":20261201}"#, #"{"url_ttl_s":0}"#, #"{"url_ttl_s":3601}"#,
            #"{"url_ttl_s":"30"}"#, #"{"url_ttl_s":1.5}"#, #"{"url_ttl_s":true}"#, #"{"corrupt":"all"}"#, #"{"corrupt":true}"#,
            #"{"changes":{}}"#, #"{"changes":[1]}"#, #"{"changes":[{}]}"#, #"{"changes":[{"kind":"explode"}]}"#,
            #"{"changes":[{"kind":"drop_trade"}]}"#, #"{"changes":[{"kind":"drop_trade","out_trade_no":"A","amount":"1.00"}]}"#,
            #"{"changes":[{"kind":"drop_trade","out_trade_no":"A-1"}]}"#,
            #"{"changes":[{"kind":"drop_trade","out_trade_no":""}]}"#,
            #"{"changes":[{"kind":"trade_amount","out_trade_no":"A","amount":"1"}]}"#,
            #"{"changes":[{"kind":"trade_amount","out_trade_no":"A","amount":1.00}]}"#,
            #"{"changes":[{"kind":"trade_amount","out_trade_no":"A","amount":"0.00"}]}"#,
            #"{"changes":[{"kind":"trade_amount","out_trade_no":"A","amount":"-1.00"}]}"#,
            #"{"changes":[{"kind":"refund_amount","out_request_no":"R 1","amount":"1.00"}]}"#,
            #"{"changes":[{"kind":"drop_refund","out_request_no":""}]}"#,
            #"{"changes":[{"kind":"drop_trade","out_trade_no":"A"},{"kind":"drop_trade","out_trade_no":"A"}]}"#,
            #"{"changes":[{"kind":"drop_trade","out_trade_no":"\#(String(repeating: "A", count: 65))"}]}"#,
            #"{"changes":[\#(Array(repeating: #"{"kind":"next_day","out_trade_no":"A"}"#, count: 101).joined(separator: ","))]}"#,
        ] {
            #expect(throws: BillSettingsError.self, "\(hostile)") { try parse(hostile) }
        }
    }

    @Test func daysAreShopDays() {
        #expect(BillDays.range("2026-11-22", time: time) == at("2026-11-22 00:00:00")..<at("2026-11-23 00:00:00"))
        #expect(BillDays.day(after: "2026-12-31", time: time) == "2027-01-01")
        #expect(BillDays.day(before: "2027-03-01", time: time) == "2027-02-28")
        for bad in ["2026-11-31", "26-11-22", "2026-11-22 ", "2026/11/22", "", "2026-11"] {
            #expect(BillDays.range(bad, time: time) == nil, "\(bad)")
        }
        // 23 hours across the start of summer time
        let paris = ShopClock(zone: TimeZone(identifier: "Europe/Paris")!)
        #expect(BillDays.range("2026-03-29", time: paris)?.count == 23 * 3600)
    }

    @Test func downloadTokensAreOneTimeAndExpire() {
        let downloads = BillDownloads()
        let token = downloads.issue(day: "2026-11-21", now: 1000, ttl: 30)
        #expect(token.utf8.count == 32 && token.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(downloads.redeem(token, now: 1030) == "2026-11-21")
        #expect(downloads.redeem(token, now: 1030) == nil)  // once
        let late = downloads.issue(day: "2026-11-21", now: 1000, ttl: 30)
        #expect(late != token)
        #expect(downloads.redeem(late, now: 1031) == nil)  // expired
        #expect(downloads.redeem("", now: 1000) == nil && downloads.redeem("0123", now: 1000) == nil)
        // expired tokens do not pile up
        for n in 0..<50 { _ = downloads.issue(day: "2026-11-21", now: Int64(n), ttl: 1) }
        _ = downloads.issue(day: "2026-11-21", now: 10_000, ttl: 1)
        #expect(downloads.count == 1)
    }

    /// A state file as the sandbox wrote it before bills existed (format 1, unchanged) loads, and
    /// its times make the bill: they were kept all along.
    @Test func anEarlierStateFileMakesBills() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-old-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let notification = #"{"enabled":false,"attempts":0,"delivered":false,"last_answer":null}"#
        let text = """
            {"format":1,"trades":[{"out_trade_no":"OLD1","total_amount":"998.00","subject":"购买课程","time_expire":null,\
            "return_url":null,"notify_url":null,"trade_status":"TRADE_SUCCESS","trade_no":"2026112222000000000001",\
            "buyer_id":"2088000000001234","created_at":\(at("2026-11-22 09:59:00")),"paid_at":\(at("2026-11-22 10:00:00")),\
            "closed_at":null,"notification":\(notification),"refunds":[{"out_request_no":"R1","refund_amount":"1.00",\
            "refund_reason":null,"refunded_at":\(at("2026-11-23 08:00:00")),"refund_fee":"1.00","notification":\(notification)}]}]}
            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let store = try TradeStore(time: time, file: TradeFile(path: path, log: Fixtures.logger()))
        #expect(summary(lines(store, "2026-11-22")) == ["交易 OLD1 998.00"])
        #expect(summary(lines(store, "2026-11-23")) == ["退款 R1 -1.00"])
        #expect(lines(store, "2026-11-22").first?.createdAt == at("2026-11-22 09:59:00"))
        #expect(lines(store, "2026-11-22").first?.buyer == "208****1234")
    }

    @Test func moveShiftsEveryTimeOfTheTradeByWholeDays() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-move-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try TradeStore(time: time, file: TradeFile(path: path, log: Fixtures.logger()))
        let paid = try pay(store, "M", "10.00", at: "2026-11-22 23:30:00")
        try refund(store, "M", "1.00", "M-R1", at: "2026-11-22 23:45:00")
        try refund(store, "M", "9.00", "M-R2", at: "2026-11-23 00:15:00")
        let moved = try store.move(outTradeNo: "M", to: "2026-11-19")
        let shift = Int64(-3 * 86_400)
        #expect(moved.paidAt == at("2026-11-19 23:30:00") && moved.createdAt == paid.createdAt + shift)
        #expect(moved.closedAt == at("2026-11-20 00:15:00") && moved.status == .closed && moved.tradeNo == paid.tradeNo)
        #expect(moved.refunds.map(\.refundedAt) == [at("2026-11-19 23:45:00"), at("2026-11-20 00:15:00")])
        #expect(summary(lines(store, "2026-11-19")) == ["交易 M 10.00", "退款 M-R1 -1.00"])
        #expect(summary(lines(store, "2026-11-20")) == ["退款 M-R2 -9.00"])
        #expect(lines(store, "2026-11-22").isEmpty)
        // kept in the state file: a restart sees the moved times
        let again = try TradeStore(time: time, file: TradeFile(path: path, log: Fixtures.logger()))
        let reloaded = try #require(again.find(outTradeNo: "M", now: 0))
        #expect(reloaded.createdAt == moved.createdAt && reloaded.paidAt == moved.paidAt && reloaded.closedAt == moved.closedAt)
        #expect(reloaded.refunds.map(\.refundedAt) == moved.refunds.map(\.refundedAt))
        // forward too
        #expect(try store.move(outTradeNo: "M", to: "2026-12-01").paidAt == at("2026-12-01 23:30:00"))

        #expect(throws: TradeError.notFound) { try store.move(outTradeNo: "NOPE", to: "2026-11-19") }
        _ = try store.open(
            PagePayOrder(outTradeNo: "U", totalAmount: Fen(1), subject: "课", timeExpire: nil, returnURL: nil, notifyURL: nil),
            now: 0)
        #expect(throws: TradeError.notPaid) { try store.move(outTradeNo: "U", to: "2026-11-19") }
        #expect(throws: TradeError.invalidDay) { try store.move(outTradeNo: "M", to: "2026-11-31") }
    }
}
