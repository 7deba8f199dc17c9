import Foundation
import LuffyCore

extension AlipayBill {
    /// Alipay's zip of this bill: `<account>_<yyyyMMdd>_业务明细.csv` and
    /// `<account>_<yyyyMMdd>_业务明细(汇总).csv`, GBK, CRLF, ids padded with a tab, the footer
    /// from `totals` (as given: the sandbox can make it disagree). `exportedAt`: `yyyy-MM-dd HH:mm:ss`.
    public func zip(exportedAt: String) throws(BillError) -> [UInt8] {
        let prefix = "\(account)_\(compactDate)_业务明细"
        return try ZipArchive.make([
            ZipArchive.Entry(name: try GBK.encode(prefix + ".csv"), data: try GBK.encode(detail(exportedAt: exportedAt))),
            ZipArchive.Entry(name: try GBK.encode(prefix + "(汇总).csv"), data: try GBK.encode(summary(exportedAt: exportedAt))),
        ])
    }

    private func header(_ title: String) -> String {
        "#支付宝\(title)查询\r\n#账号：[\(account)]\r\n"
            + "#起始日期：[\(Self.chinese(date + " 00:00:00"))]   终止日期：[\(Self.chinese(Self.nextDay(date) + " 00:00:00"))]\r\n"
    }

    func detail(exportedAt: String) -> String {
        var text = header("业务明细")
        text += "#-----------------------------------------业务明细列表----------------------------------------\r\n"
        text += CSV.line(Self.columnNames) + "\r\n"
        for row in rows {
            var values = row.values
            // Alipay pads its long numbers with a tab, so that spreadsheets keep them as text.
            for index in [0, 1, 21] where !values[index].isEmpty { values[index] += "\t" }
            text += CSV.line(values) + "\r\n"
        }
        text += "#-----------------------------------------业务明细列表结束------------------------------------\r\n"
        text += "#交易合计：\(totals.tradeCount)笔，商家实收：\(totals.tradeReceived)元，商家优惠：0.00元\r\n"
        text += "#退款合计：\(totals.refundCount)笔，商家实收：\(totals.refundReceived)元，商家优惠：0.00元\r\n"
        text += "#导出时间：[\(Self.chinese(exportedAt))]\r\n"
        return text
    }

    /// One line per store (门店编号, 门店名称), then 合计.
    func summary(exportedAt: String) -> String {
        struct Sums {
            var trades = 0, refunds = 0
            var amount = Fen.zero, received = Fen.zero, fee = Fen.zero
            mutating func add(_ row: Row) {
                if row.kind == .trade { trades += 1 } else { refunds += 1 }
                amount = amount + row.amount
                received = received + row.received
                fee = fee + row.serviceFee
            }
            func line(_ store: String, _ name: String) -> String {
                CSV.line([
                    store, name, "\(trades)", "\(refunds)", "\(amount)", "\(received)", "0.00", "0.00", "0.00", "\(fee)",
                    "0.00", "\(received - fee)",
                ]) + "\r\n"
            }
        }
        var stores: [String] = []
        var byStore: [String: (name: String, sums: Sums)] = [:]
        var total = Sums()
        for row in rows {
            let columns = row.values
            let store = columns[6]
            if byStore[store] == nil {
                stores.append(store)
                byStore[store] = (columns[7], Sums())
            }
            byStore[store]!.sums.add(row)
            total.add(row)
        }
        var text = header("业务汇总")
        text += "#-----------------------------------------业务汇总列表----------------------------------------\r\n"
        text +=
            "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,"
            + "卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\r\n"
        for store in stores { text += byStore[store]!.sums.line(store, byStore[store]!.name) }
        text += total.line("合计", "")
        text += "#-----------------------------------------业务汇总列表结束------------------------------------\r\n"
        text += "#导出时间：[\(Self.chinese(exportedAt))]\r\n"
        return text
    }

    /// `2026-11-29 10:00:00` → `2026年11月29日 10:00:00`.
    static func chinese(_ time: String) -> String {
        let parts = time.split(separator: " ", maxSplits: 1)
        let day = parts.first?.split(separator: "-") ?? []
        guard day.count == 3 else { return time }
        return "\(day[0])年\(day[1])月\(day[2])日" + (parts.count > 1 ? " \(parts[1])" : "")
    }

    /// The day after `yyyy-MM-dd` (the bill's 终止日期).
    static func nextDay(_ date: String) -> String {
        let clock = ShopClock(zone: .gmt)
        guard let start = clock.parse(date + " 00:00:00") else { return date }
        return String(clock.format(start + 86_400).prefix(10))
    }
}
