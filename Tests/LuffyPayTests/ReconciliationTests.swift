import Alipay
import FastCGI
import Foundation
import LuffyCore
import Testing

@testable import LuffyPay

/// The comparison of a bill with the books (docs/RECONCILIATION.md, "Kinds"): one test per kind,
/// on rows and books built here.
@Suite struct ReconciliationComparisonTests {
    static func fen(_ text: String) -> Fen { Fen(decimal: text)! }

    static func trade(_ line: Int, _ tradeNo: String, _ order: String, _ amount: String) -> BillEntry {
        BillEntry(
            line: line, kind: .trade, tradeNo: tradeNo, outTradeNo: order, amount: fen(amount),
            columns: [.init("支付宝交易号", tradeNo), .init("商户订单号", order), .init("订单金额（元）", amount)])
    }

    static func refundRow(_ line: Int, _ tradeNo: String, _ order: String, _ number: String, _ amount: String) -> BillEntry {
        BillEntry(line: line, kind: .refund, tradeNo: tradeNo, outTradeNo: order, outRequestNo: number, amount: fen("-" + amount))
    }

    static func order(_ id: Int64, _ number: String, trade: String?, _ price: String, status: Int64 = 1) -> LocalBooks.Order {
        LocalBooks.Order(
            id: id, number: number, tradeNo: trade, realPrice: fen(price), status: status,
            payTime: trade == nil ? nil : "2026-11-20 12:00:00.000000")
    }

    static func refund(_ number: String, order: String, trade: String, _ amount: String, state: String = "succeeded")
        -> LocalBooks.Refund
    {
        LocalBooks.Refund(
            id: 7, outRequestNo: number, orderNumber: order, tradeNo: trade, amount: fen(amount), state: state, source: "buyer",
            finishedTime: state == "succeeded" ? "2026-11-20 13:00:00.000000" : nil)
    }

    /// Two paid orders, a partial and a full refund, both sides agreeing.
    static func agreeingDay() -> (bill: [BillEntry], books: LocalBooks) {
        let a = order(1, "A1", trade: "T1", "100.00")
        let b = order(2, "B2", trade: "T2", "49.90", status: 4)
        let r1 = refund("RA1-1", order: "A1", trade: "T1", "30.00")
        let r2 = refund("RB2-1", order: "B2", trade: "T2", "49.90")
        let bill = [
            trade(1, "T1", "A1", "100.00"), trade(2, "T2", "B2", "49.90"),
            refundRow(3, "T1", "A1", "RA1-1", "30.00"), refundRow(4, "T2", "B2", "RB2-1", "49.90"),
        ]
        let books = LocalBooks(
            payments: [a, b], orders: ["A1": a, "B2": b], refunds: [r1, r2], refundsByNumber: ["RA1-1": r1, "RB2-1": r2])
        return (bill, books)
    }

    @Test func anAgreeingDayHasNoItemsAndTheSameTotals() {
        let (bill, books) = Self.agreeingDay()
        let result = Comparison.compare(bill: bill, books: books)
        #expect(result.findings.isEmpty)
        let totals = SideTotals(trades: 2, tradeAmount: Self.fen("149.90"), refunds: 2, refundAmount: Self.fen("79.90"))
        #expect(result.alipay == totals && result.local == totals)
    }

    @Test func aPaymentOnlyAtAlipayIsFoundWithItsEvidence() {
        var (bill, books) = Self.agreeingDay()
        let unpaid = Self.order(3, "C3", trade: nil, "9.90", status: 0)
        books.orders["C3"] = unpaid
        bill.append(Self.trade(5, "T3", "C3", "9.90"))
        let found = Comparison.compare(bill: bill, books: books).findings
        #expect(found.map(\.kind) == [.paidAtAlipayOnly])
        #expect(found[0].key == "T3" && found[0].orderNumber == "C3" && found[0].alipayAmount == Self.fen("9.90"))
        #expect(found[0].bill == [Self.trade(5, "T3", "C3", "9.90")] && found[0].initialState == .open)
        #expect(found[0].local["order"]?["order_status"] == .int(0))
        // An order number the shop never made: still a payment only at Alipay.
        let stranger = Comparison.compare(bill: [Self.trade(1, "T9", "NOPE", "1.00")], books: LocalBooks()).findings
        #expect(stranger.map(\.kind) == [.paidAtAlipayOnly] && stranger[0].local == ["order": .null])
    }

    @Test func aPaymentOnlyHereIsCarried() {
        var (bill, books) = Self.agreeingDay()
        bill.removeAll { $0.tradeNo == "T2" && $0.kind == .trade }
        let found = Comparison.compare(bill: bill, books: books).findings
        #expect(found.map(\.kind) == [.paidHereOnly])
        #expect(found[0].key == "T2" && found[0].localAmount == Self.fen("49.90") && found[0].initialState == .carried)
        // Billed on another day already (stored rows of another date): not "here only".
        books.billedElsewhere = ["T2"]
        #expect(Comparison.compare(bill: bill, books: books).findings.isEmpty)
    }

    @Test func anAmountMismatch() {
        var (bill, books) = Self.agreeingDay()
        bill[0].amount = Self.fen("1.00")
        let found = Comparison.compare(bill: bill, books: books).findings
        #expect(found.map(\.kind) == [.amountMismatch])
        #expect(found[0].alipayAmount == Self.fen("1.00") && found[0].localAmount == Self.fen("100.00"))
        // A payment the shop owes back whole (a late one): known by its refund record's trade.
        books.orders["D4"] = Self.order(4, "D4", trade: nil, "5.00", status: 2)
        books.refundedTrades["T4"] = Self.refund("RD4-1", order: "D4", trade: "T4", "5.00", state: "approved")
        bill[0].amount = Self.fen("100.00")
        bill.append(Self.trade(9, "T4", "D4", "5.00"))
        #expect(Comparison.compare(bill: bill, books: books).findings.isEmpty)
        bill[4].amount = Self.fen("6.00")
        #expect(Comparison.compare(bill: bill, books: books).findings.map(\.kind) == [.amountMismatch])
    }

    @Test func aSecondTradeForAnOrder() {
        var (bill, books) = Self.agreeingDay()
        bill.append(Self.trade(5, "T1B", "A1", "100.00"))
        let found = Comparison.compare(bill: bill, books: books).findings
        #expect(found.map(\.kind) == [.secondTradeForOrder] && found[0].key == "T1B")
        // Two trades for an order that recorded neither: the first is the lost payment.
        books.orders["C3"] = Self.order(3, "C3", trade: nil, "9.90", status: 0)
        bill.append(Self.trade(6, "T3", "C3", "9.90"))
        bill.append(Self.trade(7, "T3B", "C3", "9.90"))
        let more = Comparison.compare(bill: bill, books: books).findings
        #expect(more.map(\.kind) == [.secondTradeForOrder, .paidAtAlipayOnly, .secondTradeForOrder])
        #expect(more.map(\.key) == ["T1B", "T3", "T3B"])
    }

    @Test func aRefundOnlyAtAlipay() {
        var (bill, books) = Self.agreeingDay()
        bill.append(Self.refundRow(5, "T1", "A1", "EXT-1", "1.00"))
        let found = Comparison.compare(bill: bill, books: books).findings
        #expect(found.map(\.kind) == [.refundAtAlipayOnly])
        #expect(found[0].key == "EXT-1" && found[0].alipayAmount == Self.fen("1.00") && found[0].local == ["refund": .null])
        // Ours but not succeeded here: Alipay refunded what the shop has not recorded.
        books.refundsByNumber["EXT-1"] = Self.refund("EXT-1", order: "A1", trade: "T1", "1.00", state: "unknown")
        #expect(Comparison.compare(bill: bill, books: books).findings.map(\.kind) == [.refundAtAlipayOnly])
        // Without a refund number: keyed by trade and amount.
        let bare = Comparison.compare(bill: [Self.refundRow(1, "T1", "A1", "", "2.00")], books: LocalBooks()).findings
        #expect(bare.map(\.key) == ["T1/2.00"])
    }

    @Test func aRefundOnlyHereIsCarried() {
        var (bill, books) = Self.agreeingDay()
        bill.removeAll { $0.outRequestNo == "RA1-1" }
        let found = Comparison.compare(bill: bill, books: books).findings
        #expect(found.map(\.kind) == [.refundHereOnly])
        #expect(found[0].key == "RA1-1" && found[0].initialState == .carried && found[0].localAmount == Self.fen("30.00"))
        books.billedElsewhere = ["RA1-1"]
        #expect(Comparison.compare(bill: bill, books: books).findings.isEmpty)
    }

    @Test func aRefundAmountMismatch() {
        var (bill, books) = Self.agreeingDay()
        bill[2].amount = Self.fen("-2.00")
        let found = Comparison.compare(bill: bill, books: books).findings
        #expect(found.map(\.kind) == [.refundAmountMismatch])
        #expect(found[0].alipayAmount == Self.fen("2.00") && found[0].localAmount == Self.fen("30.00"))
    }

    @Test func aRepeatedRowMakesOneItem() {
        let row = Self.trade(1, "T9", "NOPE", "1.00")
        var twice = row
        twice.line = 2
        #expect(Comparison.compare(bill: [row, twice], books: LocalBooks()).findings.map(\.kind) == [.paidAtAlipayOnly])
        var books = LocalBooks()
        books.orders["C3"] = Self.order(3, "C3", trade: nil, "9.90", status: 0)
        let again = [Self.trade(1, "T3", "C3", "9.90"), Self.trade(2, "T3", "C3", "9.90")]
        #expect(Comparison.compare(bill: again, books: books).findings.map(\.kind) == [.paidAtAlipayOnly])
    }

    @Test func carriedItemsAreFoundInTheNextBillOrOpened() {
        let (bill, books) = Self.agreeingDay()
        let carried = [
            CarriedItem(id: 1, kind: .paidHereOnly, key: "T1"), CarriedItem(id: 2, kind: .paidHereOnly, key: "T8"),
            CarriedItem(id: 3, kind: .refundHereOnly, key: "RB2-1"), CarriedItem(id: 4, kind: .refundHereOnly, key: "R8"),
        ]
        let outcome = Comparison.compare(bill: bill, books: books, carriedIn: carried).carried
        #expect(outcome.map(\.found) == [true, false, true, false])
        #expect(outcome[0].action != nil && outcome[1].action == nil)
    }

    @Test func evidenceIsTheBillRowsAndTheLocalRows() {
        let finding = Comparison.compare(bill: [Self.trade(1, "T9", "NOPE", "1.00")], books: LocalBooks()).findings[0]
        let text = String(decoding: finding.evidence.serialized, as: UTF8.self)
        #expect(text == #"{"bill":[{"支付宝交易号":"T9","商户订单号":"NOPE","订单金额（元）":"1.00"}],"local":{"order":null}}"#)
    }
}

@Suite struct ReconciliationDateTests {
    @Test func billDatesAreStrict() {
        #expect(BillDate("2026-11-30")?.description == "2026-11-30")
        #expect(BillDate("2024-02-29")?.number == 20_240_229)
        for bad in [
            "2026-02-29", "2026-13-01", "2026-00-10", "2026-11-31", "1999-12-31", "2026-1-01", "2026/11/30", "20261130",
            "2026-11-30 ", "", "２０２６-11-30", "2026-11-3a",
        ] {
            #expect(BillDate(bad) == nil, "\(bad)")
        }
    }

    @Test func dayArithmeticCrossesMonthsAndYears() {
        #expect(BillDate("2026-12-31")!.adding(days: 1).description == "2027-01-01")
        #expect(BillDate("2024-03-01")!.adding(days: -1).description == "2024-02-29")
        #expect(BillDate("2026-03-01")!.adding(days: -1).description == "2026-02-28")
        #expect(BillDate("2026-11-30")!.adding(days: 0) == BillDate("2026-11-30"))
        #expect(BillDate("2026-11-30")! < BillDate("2026-12-01")!)
    }

    @Test func todayIsTheShopsDay() {
        let shanghai = ShopClock(zone: .init(identifier: "Asia/Shanghai")!)
        // 2026-11-30 16:30 UTC is 2026-12-01 00:30 in Shanghai.
        #expect(BillDate.today(shanghai, epoch: 1_796_056_200).description == "2026-12-01")
        let utc = ShopClock(zone: .init(identifier: "UTC")!)
        #expect(BillDate.today(utc, epoch: 1_796_056_200).description == "2026-11-30")
    }

    @Test func reconcileAtParsing() {
        #expect(ReconcileAt(parsing: "10:30") == ReconcileAt(minutes: 630))
        #expect(ReconcileAt(parsing: "00:00") == ReconcileAt(minutes: 0))
        #expect(ReconcileAt(parsing: "off") == .off)
        for bad in ["24:00", "10:60", "1030", "10:3", "ab:cd", "", "OFF", " 10:30"] {
            #expect(ReconcileAt(parsing: bad) == nil, "\(bad)")
        }
        let at = ReconcileAt(minutes: 630)
        #expect(
            !at.isDue(at: "2026-11-30 10:29:59") && at.isDue(at: "2026-11-30 10:30:00") && at.isDue(at: "2026-11-30 23:59:59"))
        #expect(!ReconcileAt.off.isDue(at: "2026-11-30 23:59:59"))
    }

    @Test func reconcileSettings() throws {
        let defaults = try Settings(values: [:])
        #expect(defaults.reconcileAt == ReconcileAt(minutes: 630) && defaults.reconcileRetry == 600)
        let set = try Settings(values: ["LUFFY_RECONCILE_AT": "off", "LUFFY_RECONCILE_RETRY": "2"])
        #expect(set.reconcileAt == .off && set.reconcileRetry == 2)
        for (key, value) in [
            ("LUFFY_RECONCILE_AT", "25:00"), ("LUFFY_RECONCILE_AT", "10.30"), ("LUFFY_RECONCILE_RETRY", "0"),
            ("LUFFY_RECONCILE_RETRY", "soon"), ("LUFFY_RECONCILE_MAX_BYTES", "10"),
        ] {
            #expect(throws: ConfigError.self) { try Settings(values: [key: value]) }
        }
    }
}

/// The staff API's refusals (HTTPErrors.swift) byte for byte, and the note's rules.
@Suite struct ReconciliationAnswerTests {
    static func wire(_ error: any HTTPResponseError) -> String {
        let response = Response.error(error.answer)
        return "\(response.status) \(String(decoding: response.body, as: UTF8.self))"
    }

    @Test func everyRefusalAnswersWithItsCode() {
        let answers: [(ReconcileRequestError, String)] = [
            (.invalidDate, #"400 {"errmsg":"日期格式必须是yyyy-MM-dd","code":"invalid_date"}"#),
            (.reconciliationNotFound, #"404 {"errmsg":"该日期尚未对账","code":"reconciliation_not_found"}"#),
            (
                .invalidState,
                #"400 {"errmsg":"对账差异状态必须是以下之一: open, resolved, auto_resolved, carried","code":"invalid_state"}"#
            ),
            (
                .invalidKind,
                #"400 {"errmsg":"对账差异类型必须是以下之一: paid_at_alipay_only, paid_here_only, amount_mismatch, second_trade_for_order, refund_at_alipay_only, refund_here_only, refund_amount_mismatch","code":"invalid_kind"}"#
            ),
            (.itemNotFound, #"404 {"errmsg":"对账差异不存在","code":"item_not_found"}"#),
            (
                .itemNotOpen(state: .resolved),
                #"409 {"errmsg":"只有未处理的对账差异可以标记为已处理","code":"item_not_open","state":"resolved"}"#
            ),
            (.invalidNote, #"400 {"errmsg":"处理说明必须是1到500个字符的字符串","code":"invalid_note"}"#),
        ]
        for (error, expected) in answers {
            #expect(Self.wire(error) == expected)
        }
    }

    @Test func aNoteIsOneToFiveHundredCharactersTrimmed() throws {
        #expect(try ReconcileHandlers.parseNote(Array(#"{"note":"  查过了 "}"#.utf8)) == "查过了")
        #expect(try ReconcileHandlers.parseNote(Array("{\"note\":\"\(String(repeating: "长", count: 500))\"}".utf8)).count == 500)
        for body in [
            #"{}"#, #"{"note":null}"#, #"{"note":1}"#, #"{"note":""}"#, #"{"note":"   "}"#, #"{"note":["a"]}"#,
            "{\"note\":\"\(String(repeating: "x", count: 501))\"}",
        ] {
            #expect(throws: ReconcileRequestError.invalidNote) { try ReconcileHandlers.parseNote(Array(body.utf8)) }
        }
        #expect(throws: OrderError.invalidBody) { try ReconcileHandlers.parseNote(Array("[1]".utf8)) }
    }
}

/// The bill's rows as the comparison sees them, from a zip made in the test (Alipay's format, by the
/// Alipay module's writer) read back by its parser.
@Suite struct ReconciliationBillRowTests {
    @Test func billRowsBecomeEntriesWithEveryColumn() throws {
        let rows = [
            AlipayBill.Row(
                tradeNo: "2026112922001", outTradeNo: "A1", kind: .trade, subject: "课程, 进阶", createdTime: "2026-11-29 10:00:00",
                finishedTime: "2026-11-29 10:00:05", buyerAccount: "138****0000", amount: Fen(12000), received: Fen(12000)),
            AlipayBill.Row(
                tradeNo: "2026112922001", outTradeNo: "A1", kind: .refund, subject: "课程, 进阶", createdTime: "2026-11-29 11:00:00",
                finishedTime: "2026-11-29 11:00:01", buyerAccount: "138****0000", amount: Fen(-3000), received: Fen(-3000),
                refundRequestNo: "RA1-1"),
        ]
        let bill = try AlipayBill.parse(
            zip: AlipayBill(account: "2088000000000001", date: "2026-11-29", rows: rows).zip(exportedAt: "2026-11-30 09:00:00"))
        let entries = Reconciler.entries(bill)
        #expect(entries.map(\.line) == [1, 2] && entries.map(\.kind) == [.trade, .refund])
        #expect(entries[1].outRequestNo == "RA1-1" && entries[1].amount == Fen(-3000) && entries[1].magnitude == Fen(3000))
        #expect(
            entries[0].tradeNo == "2026112922001" && entries[0].outTradeNo == "A1"
                && entries[0].finishedTime == "2026-11-29 10:00:05")
        #expect(entries[0].columns.count == AlipayBill.columnNames.count)
        #expect(entries[0].json["商品名称"] == .string("课程, 进阶") && entries[1].json["订单金额（元）"] == .string("-30.00"))
    }
}
