import Alipay
import Foundation
import Logging
import LuffyTestSupport
import Synchronization
import Testing

@testable import AlipaySandbox
@testable import LuffyCore

@Suite struct TradeStoreTests {
    let start = Fixtures.start

    func order(_ number: String = "A1", fen: Int64 = 99800, expireIn: Int64? = 900, notifyURL: String? = "http://shop/notify")
        -> PagePayOrder
    {
        PagePayOrder(
            outTradeNo: number, totalAmount: Fen(fen), subject: "购买课程",
            timeExpire: expireIn.map { Fixtures.start + $0 }, returnURL: "http://shop/alipay", notifyURL: notifyURL)
    }

    func store() -> TradeStore {
        let counter = Counter()
        return TradeStore(time: Fixtures.time) { n in counter.next(n) }
    }

    @Test func openRecordsAWaitingTradeWithoutTradeNumber() throws {
        let store = store()
        let trade = try store.open(order(), now: start)
        #expect(trade.status == .waitBuyerPay)
        #expect(trade.tradeNo == nil)
        #expect(trade.createdAt == start)
        #expect(store.count == 1)
        #expect(store.find(outTradeNo: "A1", now: start)?.status == .waitBuyerPay)
    }

    @Test func samePagePayShowsTheSameTradeAnotherAmountIsRefused() throws {
        let store = store()
        _ = try store.open(order(), now: start)
        let again = try store.open(order(), now: start + 10)
        #expect(again.createdAt == start)
        #expect(store.count == 1)
        #expect(throws: TradeError.amountChanged(recorded: Fen(99800))) { try store.open(order(fen: 99900), now: start + 20) }
    }

    @Test func payGivesADigitsTradeNumberAndIsOnce() throws {
        let store = store()
        _ = try store.open(order(), now: start)
        let paid = try store.pay(outTradeNo: "A1", now: start + 60, notify: true)
        #expect(paid.status == .success)
        #expect(paid.paidAt == start + 60)
        let tradeNo = try #require(paid.tradeNo)
        #expect(tradeNo.count == 22)
        #expect(tradeNo.hasPrefix("20261122" + "2200"))
        #expect(tradeNo.allSatisfy { $0.isNumber })
        #expect(paid.buyerID?.hasPrefix("2088") == true && paid.buyerID?.count == 16)
        #expect(paid.notification.enabled)
        #expect(throws: TradeError.alreadyPaid) { try store.pay(outTradeNo: "A1", now: start + 61, notify: true) }
        #expect(store.find(tradeNo: tradeNo, now: start + 62)?.outTradeNo == "A1")
        #expect(store.find(outTradeNo: "A1", tradeNo: "2026112222000000000000", now: start + 62) == nil)
        // a paid trade is shown again (already paid), never re-opened
        #expect(try store.open(order(), now: start + 70).status == .success)
    }

    @Test func tradeNumbersAreUniqueEvenWhenTheRandomDigitsRepeat() throws {
        // digits that repeat: the store draws again until the number is new
        let sequence = Sequence(["0000000001", "123456789012", "0000000001", "0000000002", "123456789012"])
        let store = TradeStore(time: Fixtures.time) { _ in sequence.next() }
        _ = try store.open(order("A"), now: start)
        _ = try store.open(order("B"), now: start)
        let a = try store.pay(outTradeNo: "A", now: start, notify: false)
        let b = try store.pay(outTradeNo: "B", now: start, notify: false)
        #expect(a.tradeNo == "202611222200" + "0000000001")
        #expect(b.tradeNo == "202611222200" + "0000000002")
    }

    @Test func notifyOffOrNoNotifyURLMeansNoNotification() throws {
        let store = store()
        _ = try store.open(order("A"), now: start)
        _ = try store.open(order("B", notifyURL: nil), now: start)
        #expect(try !store.pay(outTradeNo: "A", now: start, notify: false).notification.enabled)
        #expect(try !store.pay(outTradeNo: "B", now: start, notify: true).notification.enabled)
    }

    @Test func payingAfterTimeExpireClosesTheTrade() throws {
        let store = store()
        _ = try store.open(order(expireIn: 900), now: start)
        // at time_expire itself it can still be paid; one second later it cannot
        _ = try store.open(order("B", expireIn: 900), now: start)
        #expect(try store.pay(outTradeNo: "B", now: start + 900, notify: false).status == .success)
        #expect(throws: TradeError.expired) { try store.pay(outTradeNo: "A1", now: start + 901, notify: true) }
        let closed = try #require(store.find(outTradeNo: "A1", now: start + 902))
        #expect(closed.status == .closed)
        #expect(closed.closedAt == start + 900)
        #expect(throws: TradeError.closed) { try store.pay(outTradeNo: "A1", now: start + 903, notify: true) }
    }

    @Test func anExpiredTradeReadsAsClosedAndAnExpiredPagePayIsRefused() throws {
        let store = store()
        _ = try store.open(order(expireIn: 60), now: start)
        #expect(store.find(outTradeNo: "A1", now: start + 61)?.status == .closed)
        #expect(try store.open(order(expireIn: 60), now: start + 62).status == .closed)
        #expect(throws: TradeError.expired) { try store.open(order("late", expireIn: -1), now: start) }
        #expect(store.find(outTradeNo: "late", now: start) == nil)
        // no time_expire: never closes by itself
        _ = try store.open(order("open", expireIn: nil), now: start)
        #expect(store.find(outTradeNo: "open", now: start + 86_400 * 365)?.status == .waitBuyerPay)
    }

    @Test func closeOnlyClosesAWaitingTrade() throws {
        let store = store()
        #expect(throws: TradeError.notFound) { try store.close(outTradeNo: "none", now: start) }
        _ = try store.open(order("W"), now: start)
        _ = try store.open(order("P"), now: start)
        _ = try store.pay(outTradeNo: "P", now: start, notify: false)
        let closed = try store.close(outTradeNo: "W", now: start + 5)
        #expect(closed.status == .closed && closed.closedAt == start + 5)
        #expect(throws: TradeError.closed) { try store.close(outTradeNo: "W", now: start + 6) }
        #expect(throws: TradeError.closed) { try store.pay(outTradeNo: "W", now: start + 7, notify: true) }
        #expect(throws: TradeError.alreadyPaid) { try store.close(outTradeNo: "P", now: start + 8) }
        #expect(store.find(outTradeNo: "P", now: start + 9)?.status == .success)
        #expect(throws: TradeError.notFound) { try store.pay(outTradeNo: "none", now: start, notify: true) }
    }

    @Test func notificationAttemptsAreRecorded() throws {
        let store = store()
        _ = try store.open(order(), now: start)
        _ = try store.pay(outTradeNo: "A1", now: start, notify: true)
        store.recordNotification(outTradeNo: "A1", delivered: false, answer: "fail")
        store.recordNotification(outTradeNo: "A1", delivered: true, answer: "success")
        let record = try #require(store.find(outTradeNo: "A1", now: start)).notification
        #expect(record.attempts == 2 && record.delivered && record.lastAnswer == "success")
    }

    @Test func concurrentPaymentsOfOneTradePayOnce() throws {
        let store = TradeStore(time: Fixtures.time)
        _ = try store.open(order(), now: start)
        let wins = Counter()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            if (try? store.pay(outTradeNo: "A1", now: start, notify: true)) != nil { _ = wins.next(1) }
        }
        #expect(wins.value == 1)
    }

    @Test func randomDigitsAreDigits() {
        let digits = TradeStore.randomDigits(40)
        #expect(digits.count == 40 && digits.allSatisfy { ("0"..."9").contains($0) })
    }
}

/// Counts calls; `next(n)` returns n digits made of the count.
final class Counter: Sendable {
    private let count = Mutex(0)

    var value: Int { count.withLock { $0 } }

    func next(_ n: Int) -> String {
        let text = count.withLock { count in
            count += 1
            return String(count)
        }
        return String(repeating: "0", count: max(0, n - text.count)) + text
    }
}

/// Hands out the given strings in order.
final class Sequence: Sendable {
    private let items: Mutex<[String]>

    init(_ items: [String]) { self.items = Mutex(items) }

    func next() -> String { items.withLock { $0.removeFirst() } }
}

@Suite struct ShopClockTests {
    let time = Fixtures.time

    @Test func formatsAndParsesShanghaiTime() {
        #expect(time.format(Fixtures.start) == "2026-11-22 10:00:00")
        #expect(time.day(Fixtures.start) == "20261122")
        #expect(time.parse("2026-11-22 10:00:00") == Fixtures.start)
        #expect(time.parse("2026-11-22 10:15:00") == Fixtures.start + 900)
        #expect(time.parse(time.format(Fixtures.start + 12_345)) == Fixtures.start + 12_345)
    }

    @Test func refusesWhatIsNotAMoment() {
        for text in [
            "2026-02-30 10:00:00", "2026-11-22 24:00:00", "2026-11-22T10:00:00", "2026-11-22 10:00",
            "2026-13-01 00:00:00", "２026-11-22 10:00:00", "", "2026-11-22 10:00:60",
        ] {
            #expect(time.parse(text) == nil, "\(text)")
        }
    }
}

@Suite struct SandboxSettingsTests {
    @Test func readsItsKeysAndTheSharedOnes() throws {
        let settings = try SandboxSettings(values: [
            "LUFFY_SANDBOX_FCGI_SOCKET": "/tmp/s.sock", "LUFFY_SANDBOX_THREADS": "2",
            "LUFFY_SANDBOX_PRIVATE_KEY": "/k/alipay.pem", "LUFFY_SANDBOX_APP_PUBLIC_KEY": "/k/app.pub",
            "LUFFY_SANDBOX_NOTIFY_DELAYS": "0, 3,5", "LUFFY_ALIPAY_APP_ID": "9021000000000001",
            "LUFFY_ALIPAY_SELLER_ID": "2088111111111111", "LUFFY_LOG_LEVEL": "warning",
        ])
        #expect(settings.socketPath == "/tmp/s.sock" && settings.threads == 2)
        #expect(settings.privateKeyPath == "/k/alipay.pem" && settings.appPublicKeyPath == "/k/app.pub")
        #expect(settings.notifyDelays == [0, 3, 5])
        #expect(settings.appID == "9021000000000001" && settings.sellerID == "2088111111111111")
        #expect(settings.logLevel == .warning)
        let defaults = try SandboxSettings(values: [:])
        #expect(defaults.threads == 4 && defaults.notifyDelays == [1, 2, 4, 8, 16] && defaults.socketPath == nil)
        #expect(defaults.sellerID == SandboxSettings.defaultSellerID && defaults.appID == nil)
    }

    @Test func refusesBadValues() {
        #expect(throws: (any Error).self) { try SandboxSettings(values: ["LUFFY_SANDBOX_THREADS": "0"]) }
        #expect(throws: (any Error).self) { try SandboxSettings(values: ["LUFFY_SANDBOX_NOTIFY_DELAYS": "1,,2"]) }
        #expect(throws: (any Error).self) { try SandboxSettings(values: ["LUFFY_SANDBOX_NOTIFY_DELAYS": "1,-2"]) }
        #expect(SandboxSettings.parseDelays("none") == [])
    }

    @Test func loadsFromTheConfigFileWithTheEnvironmentWinning() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-\(UUID().uuidString).env").path
        try "LUFFY_SANDBOX_THREADS=3\nLUFFY_ALIPAY_APP_ID='9021000000000009'\n# comment\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = try SandboxSettings.load(environment: ["LUFFY_CONFIG": path, "LUFFY_SANDBOX_THREADS": "5"])
        #expect(settings.threads == 5 && settings.appID == "9021000000000009")
    }

    @Test func missingOrUnreadableKeysStopStartUpNamingTheSetting() throws {
        let keys = try TestKeys.get()
        var settings = try SandboxSettings(values: ["LUFFY_SANDBOX_APP_PUBLIC_KEY": "\(keys.directory)/app_public_key.pem"])
        #expect(throws: (any Error).self) { try SandboxKeys.load(settings) }
        do { _ = try SandboxKeys.load(settings) } catch {
            #expect(String(describing: error).contains("LUFFY_SANDBOX_PRIVATE_KEY is not set"))
        }
        settings.privateKeyPath = "\(keys.directory)/missing.pem"
        do { _ = try SandboxKeys.load(settings) } catch {
            #expect(String(describing: error).contains("LUFFY_SANDBOX_PRIVATE_KEY"))
            #expect(String(describing: error).contains("missing.pem"))
        }
        // the app's public key where the private key belongs
        settings.privateKeyPath = "\(keys.directory)/app_public_key.pem"
        #expect(throws: (any Error).self) { try SandboxKeys.load(settings) }
        settings.privateKeyPath = "\(keys.directory)/alipay_private_key.pem"
        #expect(try SandboxKeys.load(settings).alipayPrivate.bits == 2048)
        let log = Fixtures.logger()
        #expect(throws: (any Error).self) { try Sandbox(settings: settings, log: log) }  // no app id
        settings.appID = Fixtures.appID
        #expect(try Sandbox(settings: settings, log: log).appID == Fixtures.appID)
    }
}
