import Foundation
import LuffyCore
import MariaDB
import Synchronization
import Testing

@testable import LuffyPay

/// `RefundStore` and Settlement's refunds against the test stack's MariaDB (like InProcessTests:
/// scripts/test.sh runs them once the stack is up, `swift test --filter InProcess`). Each test makes
/// its own paid order (course ids no catalogue uses) and removes it with its refunds.
/// The outcomes of the concurrent requests, from their threads.
private final class RefundOutcomes: Sendable {
    let list = Mutex<[Result<Int64, RefundError>]>([])
}

@Suite(.serialized) struct RefundStoreInProcessTests {
    struct StackMissing: Error, CustomStringConvertible {
        let description: String
    }

    struct PaidOrder {
        let id: Int64
        let number: String
        let tradeNo: String
        let paid: Fen
        /// (order course id, course id) in the order they were listed.
        let lines: [(id: Int64, courseID: Int64)]
        var courseIDs: [Int64] { lines.map(\.courseID) }
    }

    struct Books {
        static let library: Void = DatabaseConfig.initializeLibrary()

        let settings: Settings
        let db: Database

        init() throws {
            guard let config = ProcessInfo.processInfo.environment["LUFFY_CONFIG"], !config.isEmpty else {
                throw StackMissing(
                    description: "LUFFY_CONFIG is not set: these tests need the test stack's MariaDB (see InProcessTests)")
            }
            Books.library
            settings = try Settings.load()
            db = Database(config: DatabaseConfig(settings: settings))
            try db.ping()
        }

        /// An order of courses at `prices` (fen) that paid `paid` (default: their total) by a trade
        /// of its own, in `status`; deleted with its refunds after `body`.
        func withOrder(
            prices: [Int64], paid: Int64? = nil, status: OrderStatus = .paid, _ body: (PaidOrder) throws -> Void
        ) throws {
            let tag = Int64.random(in: 100_000_000_000...999_999_999_999)
            let number = "20261130\(tag)"
            let trade = "2026113022\(tag)"
            let total = Fen(prices.reduce(0, +))
            let paidFen = paid.map(Fen.init) ?? total
            let orderID = Int64(
                try db.execute(
                    """
                    INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price,
                                          order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no)
                    VALUES ('退款测试', 0, 0, 1, NOW(6), NOW(6), \(total), \(paidFen), \(number), \(status.rawValue), 0, NULL,
                            NOW(6), 0, 0, \(status == .paid ? trade : nil))
                    """
                ).insertID)
            defer {
                _ = try? db.execute(
                    """
                    DELETE r, rc, e FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id
                    LEFT JOIN ly_refund_event e ON e.refund_id = r.id WHERE r.order_id = \(orderID)
                    """)
                _ = try? db.execute("DELETE FROM ly_order_course WHERE order_id = \(orderID)")
                _ = try? db.execute("DELETE FROM ly_order WHERE id = \(orderID)")
            }
            var lines: [(id: Int64, courseID: Int64)] = []
            for (i, price) in prices.enumerated() {
                let courseID = 9_100_000 + Int64(i)
                let line = try db.execute(
                    """
                    INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, real_price,
                                                 discount_name, course_id, order_id)
                    VALUES ('课程', 0, 0, 1, NOW(6), NOW(6), \(Fen(price)), \(Fen(price)), '', \(courseID), \(orderID))
                    """)
                lines.append((Int64(line.insertID), courseID))
            }
            try body(PaidOrder(id: orderID, number: number, tradeNo: trade, paid: paidFen, lines: lines))
        }
    }

    func expectRefusal(_ expected: RefundError, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(expected), nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as RefundError {
            #expect(error == expected, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
        }
    }

    func buyerRefund(_ order: PaidOrder, _ courseIDs: [Int64]?, db: Database) throws -> RefundDetail {
        try RefundStore.create(
            orderID: order.id, courseIDs: courseIDs, reason: "不想学了", source: .buyer, by: 7, actor: "user:7", db: db)
    }

    func count(_ table: String, order: PaidOrder, db: Database) throws -> Int64 {
        let join = table == "ly_refund" ? "" : " JOIN ly_refund r ON r.id = x.refund_id"
        let orderColumn = table == "ly_refund" ? "x.order_id" : "r.order_id"
        return try db.query(
            SQLQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table) x\(join) WHERE \(orderColumn) = ?", binds: [.int(order.id)]),
            decoding: Int64.self
        ).first ?? -1
    }

    @Test func aBuyersRefundOfOneCourse() throws {
        let books = try Books()
        // 30.00 off 120.00 + 80.50
        try books.withOrder(prices: [12000, 8050], paid: 17050) { order in
            let detail = try buyerRefund(order, [order.courseIDs[1]], db: books.db)
            let refund = detail.refund
            #expect(refund.outRequestNo == "R\(order.number)-1")
            #expect((refund.orderID, refund.orderNumber, refund.tradeNo) == (order.id, order.number, order.tradeNo))
            #expect((refund.amount, refund.state, refund.source, refund.reason) == (Fen(6846), .requested, .buyer, "不想学了"))
            #expect((refund.requestedBy, refund.approvedBy, refund.paymentSource, refund.attempts) == (7, nil, nil, 0))
            #expect(refund.nextAttemptTime == nil)
            #expect(
                detail.courses == [
                    RefundCourse(orderCourseID: order.lines[1].id, courseID: order.courseIDs[1], amount: Fen(6846), held: true)
                ])
            #expect(
                detail.events.map { [$0.fromState?.rawValue, $0.toState.rawValue, $0.actor] } == [[nil, "requested", "user:7"]])

            // the same course again: in progress; the other one: the order's second refund
            expectRefusal(.refundInProgress(courseIDs: [order.courseIDs[1]])) {
                _ = try buyerRefund(order, [order.courseIDs[1]], db: books.db)
            }
            let second = try buyerRefund(order, nil, db: books.db)
            #expect(second.refund.outRequestNo == "R\(order.number)-2" && second.refund.amount == Fen(10204))
            #expect(second.courses.map(\.courseID) == [order.courseIDs[0]])
            // nothing left: every course is held
            expectRefusal(.refundInProgress(courseIDs: order.courseIDs)) { _ = try buyerRefund(order, nil, db: books.db) }
            #expect(try count("ly_refund", order: order, db: books.db) == 2)
        }
    }

    @Test func staffRefundsAreApprovedAtOnce() throws {
        let books = try Books()
        try books.withOrder(prices: [9900]) { order in
            let detail = try RefundStore.create(
                orderID: order.id, courseIDs: nil, reason: "课程下架", source: .staff, by: 3, actor: "staff:3", db: books.db)
            #expect((detail.refund.state, detail.refund.requestedBy, detail.refund.approvedBy) == (.approved, 3, 3))
            #expect(detail.refund.amount == order.paid && detail.refund.nextAttemptTime != nil)
            #expect(detail.events.map(\.actor) == ["staff:3"])
        }
    }

    /// `RefundSettlement` (README, "Refund worker"): the success applies once, whoever records it
    /// second (a worker's query after a refund notification, two workers) changes nothing.
    @Test func aSuccessAppliesOnce() throws {
        let books = try Books()
        let db = books.db
        try books.withOrder(prices: [12000, 8050]) { order in
            let first = try RefundStore.create(
                orderID: order.id, courseIDs: [order.courseIDs[0]], reason: "r", source: .staff, by: 3, actor: "staff:3", db: db)
            let id = first.refund.id
            func refunded() throws -> [String] {
                try db.query(
                    "SELECT order_status, refunded_amount FROM ly_order WHERE id = \(order.id)", decoding: (Int64, Fen).self
                ).map { "\($0.0) \($0.1)" }
            }
            #expect(try RefundStore.transition(id: id, from: .approved, to: .processing, actor: "worker", db: db))
            #expect(
                try RefundSettlement.succeed(refundID: id, from: .processing, actor: "worker", change: RefundChange(), db: db))
            #expect(
                try !RefundSettlement.succeed(refundID: id, from: .processing, actor: "worker", change: RefundChange(), db: db))
            #expect(try !RefundSettlement.succeed(refundID: id, from: .unknown, actor: "notify", change: RefundChange(), db: db))
            #expect(try refunded() == ["1 120.00"])
            #expect(try RefundStore.find(id: id, db: db)?.events.map(\.toState) == [.approved, .processing, .succeeded])
            // the rest: the order is refunded in full
            let rest = try RefundStore.create(
                orderID: order.id, courseIDs: nil, reason: "r", source: .staff, by: 3, actor: "staff:3", db: db)
            #expect(try RefundStore.transition(id: rest.refund.id, from: .approved, to: .processing, actor: "worker", db: db))
            #expect(
                try RefundSettlement.succeed(
                    refundID: rest.refund.id, from: .processing, actor: "worker", change: RefundChange(), db: db))
            #expect(try refunded() == ["4 \(order.paid)"])
        }
    }

    @Test func refusalsWriteNothing() throws {
        let books = try Books()
        try books.withOrder(prices: [9900, 100]) { order in
            expectRefusal(.courseNotInOrder(courseIDs: [1, 2])) {
                _ = try buyerRefund(order, [2, order.courseIDs[0], 1], db: books.db)
            }
            expectRefusal(.orderNotFound) {
                _ = try RefundStore.create(
                    orderID: -1, courseIDs: nil, reason: "", source: .buyer, by: 7, actor: "user:7", db: books.db)
            }
            let stored = try count("ly_refund", order: order, db: books.db)
            #expect(stored == 0)
        }
        for status in [OrderStatus.unpaid, .cancelled, .timedOut] {
            try books.withOrder(prices: [9900], status: status) { order in
                expectRefusal(.orderNotPaid) { _ = try buyerRefund(order, nil, db: books.db) }
            }
        }
        // a free order paid nothing
        try books.withOrder(prices: [9900], paid: 0) { order in
            expectRefusal(.orderNotPaid) { _ = try buyerRefund(order, nil, db: books.db) }
        }
        // a course whose share is 0.00 alone is nothing to refund
        try books.withOrder(prices: [0, 5000]) { order in
            expectRefusal(.nothingToRefund) { _ = try buyerRefund(order, [order.courseIDs[0]], db: books.db) }
            let stored = try count("ly_refund", order: order, db: books.db)
            #expect(stored == 0)
        }
    }

    @Test func theStateMachineInTheDatabase() throws {
        let books = try Books()
        let db = books.db
        try books.withOrder(prices: [5000, 3000, 2000]) { order in
            let first = try buyerRefund(order, [order.courseIDs[0]], db: db).refund.id
            let second = try buyerRefund(order, [order.courseIDs[1]], db: db).refund.id

            // a change the machine does not know is refused before anything runs
            expectRefusal(.transitionRefused(from: .requested, to: .processing)) {
                try RefundStore.transition(id: first, from: .requested, to: .processing, actor: "worker", db: db)
            }
            #expect(
                try RefundStore.transition(
                    id: first, from: .requested, to: .approved, actor: "staff:3",
                    change: RefundChange(nextAttemptIn: .zero, approvedBy: 3), db: db))
            // the same change again finds the refund moved: false, no event
            #expect(try !RefundStore.transition(id: first, from: .requested, to: .approved, actor: "staff:4", db: db))
            #expect(
                try RefundStore.transition(
                    id: first, from: .approved, to: .processing, actor: "worker",
                    change: RefundChange(countsAttempt: true, nextAttemptIn: .seconds(30)), db: db))

            // one refund of the trade at the gateway at a time
            try RefundStore.transition(id: second, from: .requested, to: .approved, actor: "staff:3", db: db)
            expectRefusal(.tradeRefundInFlight(tradeNo: order.tradeNo)) {
                try RefundStore.transition(id: second, from: .approved, to: .processing, actor: "worker", db: db)
            }
            let answer = RefundGatewayAnswer(
                subCode: nil, subMsg: nil, fundChange: "N", raw: #"{"alipay_trade_refund_response":{}}"#)
            #expect(
                try RefundStore.transition(
                    id: first, from: .processing, to: .unknown, actor: "worker",
                    change: RefundChange(gateway: answer, nextAttemptIn: .seconds(10)), db: db))
            expectRefusal(.tradeRefundInFlight(tradeNo: order.tradeNo)) {
                try RefundStore.transition(id: second, from: .approved, to: .processing, actor: "worker", db: db)
            }
            #expect(
                try RefundStore.transition(
                    id: first, from: .unknown, to: .succeeded, actor: "worker",
                    change: RefundChange(gateway: RefundGatewayAnswer(subCode: nil, subMsg: nil, fundChange: "Y", raw: "{}")),
                    db: db))
            #expect(try RefundStore.transition(id: second, from: .approved, to: .processing, actor: "worker", db: db))

            let done = try #require(try RefundStore.find(id: first, db: db))
            #expect(
                (done.refund.state, done.refund.fundChange, done.refund.attempts, done.refund.approvedBy) == (
                    .succeeded, "Y", 1, 3
                ))
            #expect(done.refund.nextAttemptTime == nil)
            #expect(
                done.events.map { "\($0.fromState?.rawValue ?? "-")>\($0.toState.rawValue) \($0.actor)" } == [
                    "->requested user:7", "requested>approved staff:3", "approved>processing worker", "processing>unknown worker",
                    "unknown>succeeded worker",
                ])
            #expect(done.events[3].gatewayAnswer == answer.raw)
            expectRefusal(.courseAlreadyRefunded(courseIDs: [order.courseIDs[0]])) {
                _ = try buyerRefund(order, [order.courseIDs[0]], db: db)
            }

            // failed releases the course: another refund may take it; then the failed one cannot come back
            #expect(
                try RefundStore.transition(
                    id: second, from: .processing, to: .failed, actor: "worker",
                    change: RefundChange(
                        gateway: RefundGatewayAnswer(
                            subCode: "ACQ.TRADE_NOT_ALLOW_REFUND", subMsg: "不允许退款", fundChange: nil, raw: "{}")), db: db))
            let failed = try #require(try RefundStore.find(id: second, db: db))
            #expect(failed.courses.map(\.held) == [false] && failed.refund.subCode == "ACQ.TRADE_NOT_ALLOW_REFUND")
            // staff retry of the failed one: it takes its course back
            #expect(try RefundStore.transition(id: second, from: .failed, to: .approved, actor: "staff:3", db: db))
            #expect(try RefundStore.find(id: second, db: db)?.courses.map(\.held) == [true])
            try RefundStore.transition(id: second, from: .approved, to: .processing, actor: "worker", db: db)
            try RefundStore.transition(id: second, from: .processing, to: .failed, actor: "worker", db: db)
            let third = try buyerRefund(order, [order.courseIDs[1]], db: db)
            expectRefusal(.refundInProgress(courseIDs: [order.courseIDs[1]])) {
                try RefundStore.transition(id: second, from: .failed, to: .approved, actor: "staff:3", db: db)
            }
            #expect(try RefundStore.find(id: second, db: db)?.refund.state == .failed)

            // denied releases too
            #expect(
                try RefundStore.transition(
                    id: third.refund.id, from: .requested, to: .denied, actor: "staff:3",
                    change: RefundChange(note: "已学完"), db: db))
            let again = try buyerRefund(order, nil, db: db)
            #expect(again.courses.map(\.courseID) == [order.courseIDs[1], order.courseIDs[2]])
            #expect(again.refund.outRequestNo == "R\(order.number)-4")
        }
    }

    @Test func listsByStateNewestFirst() throws {
        let books = try Books()
        try books.withOrder(prices: [1000, 2000, 3000]) { order in
            let made = try order.courseIDs.map { try buyerRefund(order, [$0], db: books.db).refund.id }
            try RefundStore.transition(id: made[0], from: .requested, to: .denied, actor: "staff:3", db: books.db)
            let page1 = try RefundStore.list(state: .requested, page: 1, size: 1, db: books.db)
            let page2 = try RefundStore.list(state: .requested, page: 2, size: 1, db: books.db)
            #expect(page1.count >= 2 && page1.count == page2.count)
            #expect(page1.refunds.map(\.id) == [made[2]] && page2.refunds.map(\.id) == [made[1]])
            let denied = try RefundStore.list(state: .denied, page: 1, size: 20, db: books.db)
            #expect(denied.refunds.contains { $0.id == made[0] } && !denied.refunds.contains { $0.id == made[1] })
            let all = try RefundStore.list(state: nil, page: 1, size: 50, db: books.db).refunds.map(\.id)
            #expect(all.filter(made.contains) == made.reversed() && all == all.sorted(by: >))
        }
    }

    /// 20 buyers' requests for one order at once, each for a random set of its courses (or all):
    /// every course is held by one refund at most, and the refunds never add up to more than paid.
    @Test func twentyConcurrentRequestsNeverRefundMoreThanPaid() throws {
        let books = try Books()
        try books.withOrder(prices: [12000, 8050, 4999, 1], paid: 22050) { order in
            let outcomes = RefundOutcomes()
            let done = DispatchSemaphore(value: 0)
            let settings = books.settings
            for i in 0..<20 {
                let chosen: [Int64]? = i % 4 == 0 ? nil : order.courseIDs.filter { _ in Bool.random() }
                let orderID = order.id
                Thread.detachNewThread {
                    let db = Database(config: DatabaseConfig(settings: settings))
                    defer { db.disconnect() }
                    let outcome: Result<Int64, RefundError>
                    do {
                        outcome = .success(
                            try RefundStore.create(
                                orderID: orderID, courseIDs: chosen?.isEmpty == true ? nil : chosen, reason: "并发",
                                source: .buyer, by: 7, actor: "user:7", db: db
                            ).refund.id)
                    } catch let error as RefundError {
                        outcome = .failure(error)
                    } catch {
                        outcome = .failure(.refundNotFound)
                    }
                    outcomes.list.withLock { $0.append(outcome) }
                    done.signal()
                }
            }
            for _ in 0..<20 { #expect(done.wait(timeout: .now() + 60) == .success) }
            let results = outcomes.list.withLock { $0 }
            let created = results.compactMap { try? $0.get() }
            #expect(!created.isEmpty && results.count == 20)
            for case let .failure(error) in results {
                switch error {
                case .refundInProgress, .nothingToRefund: break
                default: Issue.record("unexpected refusal \(error)")
                }
            }
            let (total, heldCourses, distinct) = try #require(
                try books.db.query(
                    """
                    SELECT (SELECT COALESCE(SUM(amount), 0) FROM ly_refund WHERE order_id = \(order.id)),
                           COUNT(*), COUNT(DISTINCT rc.order_course_id)
                    FROM ly_refund_course rc JOIN ly_refund r ON r.id = rc.refund_id WHERE r.order_id = \(order.id)
                    """, decoding: (Fen, Int64, Int64).self
                ).first)
            #expect(total <= order.paid)
            #expect(heldCourses == distinct)
            #expect(try count("ly_refund", order: order, db: books.db) == Int64(created.count))
            print(
                "20 concurrent refund requests: \(created.count) created, \(total) of \(order.paid) held, \(heldCourses) courses")
        }
    }

    /// Settlement's refunds of payments it cannot apply are created approved, once per trade (and
    /// course), with where the payment was learned.
    @Test func settlementRefundsAPaymentOnce() throws {
        let books = try Books()
        let db = books.db
        try books.withOrder(prices: [9900], status: .cancelled) { order in
            let late = "2026113099\(Int64.random(in: 100_000_000_000...999_999_999_999))"
            for _ in 0..<2 {
                let outcome = try db.transaction {
                    try Settlement.settle(orderID: order.id, tradeNo: late, amount: order.paid, source: .notify, db: db)
                }
                #expect(outcome == .refundNeeded(reason: "order_cancelled"))
            }
            let rows = try db.query("SELECT id FROM ly_refund WHERE order_id = \(order.id)", decoding: Int64.self)
            #expect(rows.count == 1)
            let refundID = try #require(rows.first)
            let detail = try #require(try RefundStore.find(id: refundID, db: db))
            let refund = detail.refund
            #expect(
                (refund.tradeNo, refund.amount, refund.source, refund.reason) == (
                    late, order.paid, .latePayment, "order_cancelled"
                ))
            #expect((refund.paymentSource, refund.requestedBy, refund.outRequestNo) == ("notify", nil, "R\(order.number)-1"))
            #expect(refund.state == .approved && refund.nextAttemptTime != nil)
            #expect(detail.courses.isEmpty)
            #expect(
                detail.events.map { [$0.fromState?.rawValue, $0.toState.rawValue, $0.actor] } == [[nil, "approved", "notify"]])
        }
    }

    /// sql/019 on rows of the old table: each one refund with its event, states as they meant;
    /// running it again copies nothing twice.
    @Test func paymentRefundRowsBecomeRefunds() throws {
        let books = try Books()
        let db = books.db
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sql/019_payment_refund_into_refund.sql")
        let sql = try String(contentsOf: script, encoding: .utf8)
        try books.withOrder(prices: [6000, 4000], paid: 9000) { order in
            var ids: [Int64] = []
            defer { _ = try? db.execute("DELETE FROM ly_payment_refund WHERE id IN \(ids: ids)") }
            for (course, amount, reason, status) in [
                (Int64(0), Fen(9000), "duplicate_payment", Int64(0)), (order.courseIDs[1], Fen(3600), "course_already_owned", 1),
                (0, Fen(9000), "amount_mismatch", 7),
            ] {
                let trade = course == 0 && status == 7 ? order.tradeNo + "7" : (course == 0 ? order.tradeNo + "2" : order.tradeNo)
                ids.append(
                    Int64(
                        try db.execute(
                            """
                            INSERT INTO ly_payment_refund (order_id, order_number, trade_no, course_id, total_amount, reason, source,
                                                           refund_status, created_time, updated_time)
                            VALUES (\(order.id), \(order.number), \(trade), \(course), \(amount), \(reason), 'query', \(status),
                                    NOW(6), NOW(6))
                            """
                        ).insertID))
            }
            // as `luffy-pay migrate` runs it: one script on its own connection
            let config = DatabaseConfig(settings: books.settings)
            let migrator = Database(config: config)
            defer { migrator.disconnect() }
            for _ in 0..<2 { try migrator.executeScript(SQLQuery(unsafeSQL: sql)) }
            let migrated = try db.query(
                "SELECT id, payment_refund_id, source, state, amount, out_request_no FROM ly_refund WHERE order_id = \(order.id) ORDER BY id",
                decoding: (Int64, Int64, String, String, Fen, String).self)
            #expect(migrated.map { $0.1 } == ids)
            #expect(
                migrated.map { [$0.2, $0.3] } == [
                    ["duplicate_payment", "approved"], ["course_owned", "succeeded"], ["amount_mismatch", "failed"],
                ])
            #expect(migrated.map(\.4) == [Fen(9000), Fen(3600), Fen(9000)])
            #expect(migrated.map(\.5) == (1...3).map { "R\(order.number)-\($0)" })
            let owned = try #require(try RefundStore.find(id: migrated[1].0, db: db))
            #expect(
                owned.courses == [
                    RefundCourse(orderCourseID: order.lines[1].id, courseID: order.courseIDs[1], amount: Fen(3600), held: true)
                ])
            #expect(owned.events.map(\.actor) == ["migration"] && owned.events.first?.fromState == nil)
            #expect(
                owned.events.first?.note
                    == "from ly_payment_refund \(ids[1]): course_already_owned, refund_status 1, learned by query, course \(order.courseIDs[1])"
            )
            #expect(try count("ly_refund_event", order: order, db: db) == 3)
            // what an operator paid back of the order's own trade
            #expect(
                try db.query("SELECT refunded_amount FROM ly_order WHERE id = \(order.id)", decoding: Fen.self).first == Fen(3600)
            )
            // the course it holds cannot be refunded again; the other one can, as the order's fourth refund
            expectRefusal(.courseAlreadyRefunded(courseIDs: [order.courseIDs[1]])) {
                _ = try buyerRefund(order, [order.courseIDs[1]], db: db)
            }
            let next = try buyerRefund(order, nil, db: db)
            #expect(next.refund.outRequestNo == "R\(order.number)-4" && next.refund.amount == Fen(5400))
        }
    }
}
