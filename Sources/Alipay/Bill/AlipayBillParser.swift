import Foundation
import LuffyCore

extension AlipayBill {
    /// Unzips, finds the detail entry (its name ends with `_业务明细.csv`), decodes GBK and parses it;
    /// throws when the footer's counts or sums disagree with the rows. Tolerant of what real files
    /// carry (CRLF or LF, blank lines, trailing commas, tab or space padding on any field, footer
    /// wording `商家实收：X元` or `商家实收共X元`); strict on what the reconciliation relies on.
    public static func parse(zip: [UInt8]) throws(BillError) -> AlipayBill {
        try parse(zip: zip, maxBytes: maxBytes)
    }

    /// `maxBytes`: for the zip and for what it unpacks to (tests use small ones).
    static func parse(zip: [UInt8], maxBytes: Int) throws(BillError) -> AlipayBill {
        guard zip.count <= maxBytes else { throw .tooLarge }
        let text = try detailText(zip, maxBytes: maxBytes)
        var parser = DetailParser(text: text)
        return try parser.parse()
    }

    /// The detail entry as text; the unpacked bytes are gone when this returns.
    private static func detailText(_ zip: [UInt8], maxBytes: Int) throws(BillError) -> Substring {
        let entries = try ZipArchive.entries(of: zip, maxTotalBytes: maxBytes)
        let details = entries.filter { isDetailName($0.name) }
        guard let detail = details.first else { throw .noDetailEntry }
        guard details.count == 1 else { throw .notZip("\(details.count) _业务明细.csv entries") }
        return Substring(try GBK.decode(detail.data))
    }

    /// `…_业务明细.csv`, in GBK (Alipay's names) or UTF-8; the summary `…_业务明细(汇总).csv` is not.
    static func isDetailName(_ name: [UInt8]) -> Bool {
        detailSuffixes.contains { name.count > $0.count && name.suffix($0.count).elementsEqual($0) }
    }

    private static let detailSuffixes: [[UInt8]] = [
        // 业务明细 in GBK: D2B5 CEF1 C3F7 CFB8.
        [0x5F, 0xD2, 0xB5, 0xCE, 0xF1, 0xC3, 0xF7, 0xCF, 0xB8] + Array(".csv".utf8),
        Array("_业务明细.csv".utf8),
    ]
}

/// One pass over the detail's lines, one row at a time.
private struct DetailParser {
    var reader: CSV.Reader
    var account: String?
    var date: String?
    var rows: [AlipayBill.Row] = []
    var totals = (trade: (count: Int, received: Fen)?.none, refund: (count: Int, received: Fen)?.none)

    init(text: Substring) { reader = CSV.Reader(text) }

    enum Phase { case header, rows, footer }

    mutating func parse() throws(BillError) -> AlipayBill {
        var phase = Phase.header
        while true {
            if let comment = reader.rawLine(startingWith: UInt8(ascii: "#")) {
                try take(comment: comment, phase: &phase)
                continue
            }
            guard let record = try reader.next() else { break }
            if record.allSatisfy({ trimmed($0).isEmpty }) { continue }  // a blank line
            switch phase {
            case .header:
                try checkColumnHeader(record)
                phase = .rows
            case .rows:
                rows.append(try row(record))
            case .footer:
                throw .malformed(line: reader.line, "a row after the end of the list")
            }
        }
        guard let account, !account.isEmpty else { throw .malformed(line: reader.line, "no #账号 header line") }
        guard let date else { throw .malformed(line: reader.line, "no #起始日期 header line") }
        guard phase == .footer else {
            throw .malformed(line: reader.line, phase == .header ? "no column header" : "no 业务明细列表结束 line")
        }
        guard let trade = totals.trade else { throw .malformed(line: reader.line, "no #交易合计 footer line") }
        guard let refund = totals.refund else { throw .malformed(line: reader.line, "no #退款合计 footer line") }
        let footer = AlipayBill.Totals(
            tradeCount: trade.count, tradeReceived: trade.received, refundCount: refund.count,
            refundReceived: refund.received)
        let counted = AlipayBill.Totals(of: rows)
        var differences: [String] = []
        if footer.tradeCount != counted.tradeCount {
            differences.append("交易合计 \(footer.tradeCount)笔, rows \(counted.tradeCount)")
        }
        if footer.tradeReceived != counted.tradeReceived {
            differences.append("交易 商家实收 \(footer.tradeReceived)元, rows \(counted.tradeReceived)元")
        }
        if footer.refundCount != counted.refundCount {
            differences.append("退款合计 \(footer.refundCount)笔, rows \(counted.refundCount)")
        }
        if footer.refundReceived != counted.refundReceived {
            differences.append("退款 商家实收 \(footer.refundReceived)元, rows \(counted.refundReceived)元")
        }
        guard differences.isEmpty else { throw .totalsMismatch(differences.joined(separator: "; ")) }
        return AlipayBill(account: account, date: date, rows: rows, totals: footer)
    }

    mutating func take(comment: String, phase: inout Phase) throws(BillError) {
        let line = reader.line
        // Each kind of # line by how it starts: a value in one (an account, a name) cannot pass for another.
        if comment.hasPrefix("#-"), comment.contains("业务明细列表结束") {
            guard phase == .rows else { throw .malformed(line: line, "业务明细列表结束 before the column header") }
            phase = .footer
            return
        }
        switch phase {
        case .header:
            if comment.hasPrefix("#账号"), let value = bracketed(after: "账号", in: comment) {
                account = value
            } else if comment.hasPrefix("#起始日期"), let value = bracketed(after: "起始日期", in: comment) {
                guard let day = Self.day(value) else { throw .malformed(line: line, "bad 起始日期 \(value)") }
                date = day
            }
        case .rows:
            throw .malformed(line: line, "a # line inside the list")
        case .footer:
            if comment.hasPrefix("#交易合计") {
                totals.trade = try Self.total(comment, line: line)
            } else if comment.hasPrefix("#退款合计") {
                totals.refund = try Self.total(comment, line: line)
            }
        }
    }

    func checkColumnHeader(_ record: [String]) throws(BillError) {
        let names = significant(record).map { String(trimmed($0)) }
        guard names == AlipayBill.columnNames else {
            throw .malformed(line: reader.line, "the column header is not Alipay's 25 columns: \(names.joined(separator: ","))")
        }
    }

    /// The record without trailing empty fields beyond the 25 columns (a trailing comma).
    func significant(_ record: [String]) -> ArraySlice<String> {
        var end = record.count
        while end > AlipayBill.columnNames.count, trimmed(record[end - 1]).isEmpty { end -= 1 }
        return record[..<end]
    }

    func row(_ record: [String]) throws(BillError) -> AlipayBill.Row {
        let line = reader.line
        let fields = significant(record)
        guard fields.count == AlipayBill.columnNames.count else {
            throw .malformed(line: line, "\(fields.count) columns, not \(AlipayBill.columnNames.count)")
        }
        var values: [String] = []
        values.reserveCapacity(fields.count)
        for (index, field) in fields.enumerated() {
            guard field.utf8.count <= AlipayBill.maxFieldBytes else {
                throw .malformed(line: line, "\(AlipayBill.columnNames[index]) longer than \(AlipayBill.maxFieldBytes) bytes")
            }
            values.append(String(trimmed(field)))
        }
        // Alipay's trade numbers are digits; letters are allowed, nothing else (a `#` would start a comment).
        guard !values[0].isEmpty, values[0].utf8.count <= 64,
            values[0].utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0 & 0xDF) })
        else { throw .malformed(line: line, "bad 支付宝交易号 '\(values[0])'") }
        guard let kind = AlipayBill.Kind(rawValue: values[2]) else {
            throw .malformed(line: line, "unknown 业务类型 '\(values[2])'")
        }
        func amount(_ index: Int, blankIsZero: Bool = false) throws(BillError) -> Fen {
            if blankIsZero && values[index].isEmpty { return .zero }
            guard let fen = Fen(decimal: values[index]) else {
                throw .malformed(line: line, "bad \(AlipayBill.columnNames[index]) '\(values[index])'")
            }
            return fen
        }
        let others = AlipayBill.otherColumns.map { values[$0] }
        return AlipayBill.Row(
            tradeNo: values[0], outTradeNo: values[1], kind: kind, subject: values[3], createdTime: values[4],
            finishedTime: values[5], buyerAccount: values[10], amount: try amount(11), received: try amount(12),
            refundRequestNo: values[21], serviceFee: try amount(22, blankIsZero: true), remark: values[24],
            others: others.allSatisfy(\.isEmpty) ? [] : others)
    }

    /// `#交易合计：N笔，商家实收：X元，…` or `…笔，商家实收共X元，…` (`退款` lines: `商家实收退款共-Y元`).
    static func total(_ comment: String, line: Int) throws(BillError) -> (count: Int, received: Fen) {
        let bad = BillError.malformed(line: line, "bad totals line \(comment)")
        guard let colon = comment.firstIndex(where: { $0 == "：" || $0 == ":" }),
            let unit = comment[colon...].firstIndex(of: "笔"),
            let count = Int(comment[comment.index(after: colon)..<unit].trimmingCharacters(in: " ")),
            count >= 0,
            let label = comment.firstRange(of: "商家实收")
        else { throw bad }
        let rest = comment[label.upperBound...].drop { !($0.isASCII && ($0.isNumber || $0 == "-")) }
        guard let yuan = rest.firstIndex(of: "元"), let received = Fen(decimal: rest[..<yuan]) else { throw bad }
        return (count, received)
    }

    /// `2026年11月29日 00:00:00` → `2026-11-29`, a real day.
    static func day(_ text: String) -> String? {
        let parts = text.split(whereSeparator: { "年月日 ".contains($0) })
        guard parts.count >= 3 else { return nil }
        let day = "\(parts[0])-\(parts[1])-\(parts[2])"
        guard ShopClock(zone: .gmt).parse(day + " 00:00:00") != nil else { return nil }
        return day
    }
}

/// The text inside `[…]` after `label` and a colon: `#账号：[2088…]`.
private func bracketed(after label: String, in comment: String) -> String? {
    guard let found = comment.firstRange(of: label) else { return nil }
    let rest = comment[found.upperBound...]
    guard let first = rest.first, first == "：" || first == ":", let open = rest.firstIndex(of: "["),
        let close = rest[open...].firstIndex(of: "]")
    else { return nil }
    return String(rest[rest.index(after: open)..<close]).trimmingCharacters(in: " \t")
}

/// Without the spaces and tabs around it (Alipay pads ids with a tab).
private func trimmed(_ field: String) -> Substring {
    let isPadding: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    guard let start = field.firstIndex(where: { !isPadding($0) }) else { return "" }
    let end = field.lastIndex(where: { !isPadding($0) })!
    return field[start...end]
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
