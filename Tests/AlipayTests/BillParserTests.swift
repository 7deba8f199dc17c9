import LuffyCore
import Testing

@testable import Alipay

/// The bill parser on bill files written here by hand (the reconciler's input; the sandbox's
/// bills are checked by the integration tests).
@Suite struct BillParserTests {
    static let header = AlipayBill.columnNames.joined(separator: ",")

    /// A detail entry as Alipay writes it, around `rows` (CSV lines) and `footer` lines.
    static func detail(rows: [String], footer: [String], lineBreak: String = "\r\n") -> String {
        let lines =
            [
                "#支付宝业务明细查询", "#账号：[2088102177846880]",
                "#起始日期：[2026年11月29日 00:00:00]   终止日期：[2026年11月30日 00:00:00]",
                "#-----------------------------------------业务明细列表----------------------------------------",
                header,
            ] + rows + ["#-----------------------------------------业务明细列表结束------------------------------------"]
            + footer + ["#导出时间：[2026年11月30日 09:00:00]"]
        return lines.joined(separator: lineBreak) + lineBreak
    }

    static let trade =
        "2026112922001400001\t,202611291000001\t,交易,\"Swift, 从入门到精通\",2026-11-29 10:00:00,2026-11-29 10:00:05,,,,,"
        + "138****0000,1249.00,1249.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.00,0.00,"
    static let refund =
        "2026112922001400001\t,202611291000001\t,退款,\"Swift, 从入门到精通\",2026-11-29 12:00:00,2026-11-29 12:00:01,,,,,"
        + "138****0000,-100.50,-100.50,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,R202611291000001-1\t,0.00,0.00,"
    static let footer = ["#交易合计：1笔，商家实收：1249.00元，商家优惠：0.00元", "#退款合计：1笔，商家实收：-100.50元，商家优惠：0.00元"]

    /// The zip of a GBK detail entry under Alipay's name.
    static func zip(_ detail: String, name: String = "2088102177846880_20261129_业务明细.csv") throws -> [UInt8] {
        try ZipArchive.make([ZipArchive.Entry(name: try GBK.encode(name), data: try GBK.encode(detail))])
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    @Test func aHandWrittenBillParses() throws {
        let bill = try AlipayBill.parse(zip: Self.zip(Self.detail(rows: [Self.trade, Self.refund], footer: Self.footer)))
        #expect(bill.account == "2088102177846880")
        #expect(bill.date == "2026-11-29")
        #expect(bill.fileName == "2088102177846880_20261129.csv.zip")
        #expect(bill.rows.count == 2)
        let trade = bill.rows[0]
        #expect(trade.tradeNo == "2026112922001400001" && trade.outTradeNo == "202611291000001")
        #expect(trade.kind == .trade && trade.subject == "Swift, 从入门到精通")
        #expect(trade.createdTime == "2026-11-29 10:00:00" && trade.finishedTime == "2026-11-29 10:00:05")
        #expect(trade.buyerAccount == "138****0000")
        #expect(trade.amount == Fen(124_900) && trade.received == Fen(124_900) && trade.serviceFee == .zero)
        #expect(trade.refundRequestNo == "" && trade.remark == "")
        let refund = bill.rows[1]
        #expect(refund.kind == .refund && refund.refundRequestNo == "R202611291000001-1")
        #expect(refund.amount == Fen(-10_050) && refund.received == Fen(-10_050))
        #expect(
            bill.totals
                == AlipayBill.Totals(tradeCount: 1, tradeReceived: Fen(124_900), refundCount: 1, refundReceived: Fen(-10_050)))
        let columns = refund.columns
        #expect(columns.count == 25)
        #expect(columns[0] == ("支付宝交易号", "2026112922001400001"))
        #expect(columns[21] == ("退款批次号/请求号", "R202611291000001-1"))
        #expect(columns[12] == ("商家实收（元）", "-100.50"))
    }

    /// GBK bytes and a zip made by another implementation (Python's codec and zipfile), names in
    /// GBK without the UTF-8 flag as Alipay writes them, footer in the "商家实收共X元" wording.
    static let foreignZip = bytes(
        hex:
            "504b030414000000080000487e5d62ba1f1feb0100007e04000026000000323038383130323137373834363838305f32303236313132395f"
            + "d2b5cef1c3f7cfb82e6373769d54514bdb50147e5ea1ff21d8b771a3f75e5d4dfc1563afc3f73dcd175ffc3b066d2b424dda246d9ae0b69a"
            + "1853dbda2e4951101464b0ea441174e818bbf73691ac06167608e1dcef9cf3f1dd73efb985b0d4d0e4cda1dabb6d3ff41bcaf741359f2b04"
            + "1dc3968cf7180a0282182d2e0a0b454180cb24e4dc78a61b38272c8c8b7b6384fc2f5874030ec225f62d731c170661f345d63c4c66112e3e"
            + "abc5f23e1fc93fb2d6e47393ad59ade1c8b0c1c161aba455d40de252b64f67475d82397afba9e6807add2a7bb27901bae3da0173dab63a96"
            + "cf483275588e723c7af06510061a690ed07cdd0a3aad12a09cd68d762d95fd2da94228cda1a77a41b49c4830ae767e458059d54379f3afe8"
            + "57bb759aa84e2cddaad1e93f26d8dd2a9342d32867ff491f24a2bbe529a0dbd9bdb61feb3dc39edbbfdcbf23b2f5dfbd5b7d1085f5d0bd8b"
            + "5cb9315acfe7e8512184458c21440b90187a056210c108a00d05336fd7563fac7c742fdb36504ff0ceb71996c823c4639143d121a7606f00"
            + "35342fbc264619011267c5f80f6761fa2fddcd2a9936e25f92718ae409865e48e699583eb3e477538a78a229b98bff9b04ebdcfb996d120a"
            + "6c08faa6231948f6a4edf8963615d6767205b6e3abd754a8267f8b14d1aea51451b8a9f0d38513f8b958356bf77492525e00f1f905f80350"
            + "4b030414000000080000487e5d4b7ea0181a000000150000002c000000323038383130323137373834363838305f32303236313132395fd2"
            + "b5cef1c3f7cfb828bbe3d7dc292e637376011500eaff23d6a7b8b6b1a6d2b5cef1bbe3d7dcb2e9d1af0d0a504b0102140314000000080000"
            + "487e5d62ba1f1feb0100007e040000260000000000000000000000800100000000323038383130323137373834363838305f323032363131"
            + "32395fd2b5cef1c3f7cfb82e637376504b0102140314000000080000487e5d4b7ea0181a000000150000002c000000000000000000000080"
            + "012f020000323038383130323137373834363838305f32303236313132395fd2b5cef1c3f7cfb828bbe3d7dc292e637376504b0506000000"
            + "0002000200ae000000930200000000")

    @Test func aZipWrittenElsewhereParses() throws {
        let bill = try AlipayBill.parse(zip: Self.foreignZip)
        #expect(bill.account == "2088102177846880" && bill.date == "2026-11-29")
        #expect(bill.rows.map(\.subject) == ["Python入门,第2版", "Python入门,第2版"])
        #expect(bill.rows.map(\.kind) == [.trade, .refund])
        #expect(bill.rows.map(\.received) == [Fen(1990), Fen(-990)])
        #expect(bill.rows[1].refundRequestNo == "R202611291000001-1")
        #expect(
            bill.totals == AlipayBill.Totals(tradeCount: 1, tradeReceived: Fen(1990), refundCount: 1, refundReceived: Fen(-990)))
    }

    @Test func whatItWritesItReads() throws {
        let rows = [
            AlipayBill.Row(
                tradeNo: "2026112922001400001", outTradeNo: "202611291000001", kind: .trade, subject: "前端, \"全栈\"\n课程",
                createdTime: "2026-11-29 10:00:00", finishedTime: "2026-11-29 10:00:05", buyerAccount: "138****0000",
                amount: Fen(124_900), received: Fen(124_900)),
            AlipayBill.Row(
                tradeNo: "2026112922001400001", outTradeNo: "202611291000001", kind: .refund, subject: "前端课程",
                createdTime: "2026-11-29 12:00:00", finishedTime: "2026-11-29 12:00:01", buyerAccount: "138****0000",
                amount: Fen(-500), received: Fen(-500), refundRequestNo: "R1-1", serviceFee: Fen(-1), remark: "部分退款",
                others: ["S1", "一号店", "", "", "", "", "", "", "", "", "", "", "0.00"]),
        ]
        let bill = AlipayBill(account: "2088102177846880", date: "2026-11-29", rows: rows)
        let zip = try bill.zip(exportedAt: "2026-11-30 09:00:00")
        #expect(try AlipayBill.parse(zip: zip) == bill)

        let entries = try ZipArchive.entries(of: zip, maxTotalBytes: 1 << 20)
        #expect(
            try entries.map { try GBK.decode($0.name) } == [
                "2088102177846880_20261129_业务明细.csv", "2088102177846880_20261129_业务明细(汇总).csv",
            ])
        let detail = try GBK.decode(entries[0].data)
        #expect(detail.hasPrefix("#支付宝业务明细查询\r\n#账号：[2088102177846880]\r\n"))
        #expect(detail.contains("#起始日期：[2026年11月29日 00:00:00]   终止日期：[2026年11月30日 00:00:00]\r\n"))
        #expect(detail.contains("\r\n2026112922001400001\t,202611291000001\t,交易,"))
        #expect(detail.contains(",R1-1\t,-0.01,"))
        #expect(detail.contains("#交易合计：1笔，商家实收：1249.00元，商家优惠：0.00元\r\n"))
        #expect(detail.contains("#退款合计：1笔，商家实收：-5.00元，商家优惠：0.00元\r\n"))
        #expect(detail.hasSuffix("#导出时间：[2026年11月30日 09:00:00]\r\n"))
        let summary = try GBK.decode(entries[1].data)
        #expect(summary.hasPrefix("#支付宝业务汇总查询\r\n"))
        #expect(summary.contains("\r\n,,1,0,1249.00,1249.00,0.00,0.00,0.00,0.00,0.00,1249.00\r\n"))
        #expect(summary.contains("\r\nS1,一号店,0,1,-5.00,-5.00,0.00,0.00,0.00,-0.01,0.00,-4.99\r\n"))
        #expect(summary.contains("\r\n合计,,1,1,1244.00,1244.00,0.00,0.00,0.00,-0.01,0.00,1244.01\r\n"))

        // The footer is written as given (the sandbox makes bills that disagree on purpose).
        var wrong = bill
        wrong.totals.tradeCount = 2
        #expect(throws: BillError.totalsMismatch("交易合计 2笔, rows 1")) {
            try AlipayBill.parse(zip: wrong.zip(exportedAt: "2026-11-30 09:00:00"))
        }
        let empty = AlipayBill(account: "2088102177846880", date: "2026-12-31", rows: [])
        let emptyZip = try empty.zip(exportedAt: "2027-01-01 09:00:00")
        #expect(try AlipayBill.parse(zip: emptyZip) == empty)
        #expect(
            try GBK.decode(ZipArchive.entries(of: emptyZip, maxTotalBytes: 1 << 20)[0].data).contains(
                "终止日期：[2027年01月01日 00:00:00]"))
    }

    @Test func whatRealFilesCarryIsTolerated() throws {
        // LF breaks, blank lines, trailing commas, padding on any column, the other footer wording.
        let padded =
            " 2026112922001400002\t\t,\t202611291000002 ,交易 ,\tGo语言 ,2026-11-29 11:00:00,2026-11-29 11:00:01,,,,,"
            + "\t138****0001,\t10.5 ,10.50\t,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,, ,0.00,备注 ,,,"
        let text = Self.detail(
            rows: ["", Self.trade, "", padded, ",,,", Self.refund],
            footer: ["", "#交易合计：2笔，商家实收共1259.50元，商家优惠共0.00元", "#退款合计：1笔，商家实收退款共-100.50元，商家优惠退款共0.00元"],
            lineBreak: "\n")
        let bill = try AlipayBill.parse(zip: Self.zip(text))
        #expect(bill.rows.count == 3)
        let row = bill.rows[1]
        #expect(row.tradeNo == "2026112922001400002" && row.outTradeNo == "202611291000002" && row.kind == .trade)
        #expect(row.subject == "Go语言" && row.buyerAccount == "138****0001" && row.remark == "备注")
        #expect(row.amount == Fen(1050) && row.received == Fen(1050) && row.serviceFee == .zero)
        #expect(bill.totals.tradeReceived == Fen(125_950))
    }

    /// `text` as a bill's detail; the error its parse throws.
    func refusal(_ text: String) throws -> BillError? {
        let zip = try Self.zip(text)
        do {
            _ = try AlipayBill.parse(zip: zip)
            return nil
        } catch {
            return error
        }
    }

    func refusal(row: String) throws -> BillError? {
        try refusal(Self.detail(rows: [Self.trade, row], footer: Self.footer))
    }

    @Test func whatIsNotAZipIsRefused() throws {
        #expect(throws: BillError.notZip("Not a zip archive")) { try AlipayBill.parse(zip: Array("hello, bill".utf8)) }
        #expect(throws: BillError.notZip("no bytes")) { try AlipayBill.parse(zip: []) }
        let whole = try Self.zip(Self.detail(rows: [Self.trade, Self.refund], footer: Self.footer))
        for cut in [whole.count - 1, whole.count - 30, whole.count / 2, 10] {
            #expect(throws: BillError.self) { try AlipayBill.parse(zip: Array(whole.prefix(cut))) }
            do {
                _ = try AlipayBill.parse(zip: Array(whole.prefix(cut)))
            } catch {
                guard case .notZip = error else { Issue.record("a zip cut at \(cut): \(error)"); continue }
            }
        }
        // A flipped byte of the compressed data: the CRC (or inflate) says so.
        var damaged = whole
        damaged[60] ^= 0x55
        #expect {
            try AlipayBill.parse(zip: damaged)
        } throws: { error in
            if case .notZip = error as? BillError { return true }
            return false
        }
    }

    @Test func aDetailEntryNamedInUTF8IsFoundToo() throws {
        let detail = try GBK.encode(Self.detail(rows: [Self.trade, Self.refund], footer: Self.footer))
        let zip = try ZipArchive.make([
            ZipArchive.Entry(name: Array("2088102177846880_20261129_业务明细(汇总).csv".utf8), data: []),
            ZipArchive.Entry(name: Array("2088102177846880_20261129_业务明细.csv".utf8), data: detail),
        ])
        #expect(try AlipayBill.parse(zip: zip).rows.count == 2)
        let twice = try ZipArchive.make([
            ZipArchive.Entry(name: Array("a_业务明细.csv".utf8), data: detail),
            ZipArchive.Entry(name: try GBK.encode("b_业务明细.csv"), data: detail),
        ])
        #expect(throws: BillError.notZip("2 _业务明细.csv entries")) { try AlipayBill.parse(zip: twice) }
    }

    @Test func aZipWithoutTheDetailEntryIsRefused() throws {
        let summaryOnly = try Self.zip(
            Self.detail(rows: [], footer: []), name: "2088102177846880_20261129_业务明细(汇总).csv")
        #expect(throws: BillError.noDetailEntry) { try AlipayBill.parse(zip: summaryOnly) }
        let other = try ZipArchive.make([ZipArchive.Entry(name: Array("readme.txt".utf8), data: [])])
        #expect(throws: BillError.noDetailEntry) { try AlipayBill.parse(zip: other) }
    }

    @Test func aDetailThatIsNotGBKIsRefused() throws {
        let name = try GBK.encode("2088102177846880_20261129_业务明细.csv")
        // 0xFF is no lead byte; 0x81 at the end starts a character that never ends.
        for data: [UInt8] in [[0x23, 0xFF, 0xFF], [0x23, 0x41, 0x81]] {
            let zip = try ZipArchive.make([ZipArchive.Entry(name: name, data: data)])
            #expect(throws: BillError.notGBK) { try AlipayBill.parse(zip: zip) }
        }
    }

    @Test func aWrongColumnHeaderIsRefused() throws {
        let swapped = Self.detail(rows: [Self.trade], footer: Self.footer)
            .replacing("支付宝交易号,商户订单号", with: "商户订单号,支付宝交易号")
        #expect(
            try refusal(swapped)
                == .malformed(
                    line: 5,
                    "the column header is not Alipay's 25 columns: " + "商户订单号,支付宝交易号"
                        + Self.header.dropFirst("支付宝交易号,商户订单号".count)))
        let short = Self.detail(rows: [Self.trade], footer: Self.footer).replacing(",备注\r\n", with: "\r\n")
        guard case .malformed(5, _)? = try refusal(short) else { Issue.record("a header of 24 columns passed"); return }
        let none = Self.detail(rows: [], footer: Self.footer).replacing(Self.header + "\r\n", with: "")
        #expect(try refusal(none) == .malformed(line: 5, "业务明细列表结束 before the column header"))
    }

    @Test func badAmountsAreRefused() throws {
        for amount in ["12.345", "abc", "", "1,00", "1.2.3", "--1", "1e3"] {
            let row = Self.trade.replacing(
                ",1249.00,1249.00,", with: ",\(amount.contains(",") ? "\"\(amount)\"" : amount),1249.00,")
            #expect(try refusal(row: row) == .malformed(line: 7, "bad 订单金额（元） '\(amount)'"), "amount \(amount)")
        }
        let received = Self.trade.replacing(",1249.00,1249.00,", with: ",1249.00,1249.001,")
        #expect(try refusal(row: received) == .malformed(line: 7, "bad 商家实收（元） '1249.001'"))
        let fee = String(Self.trade.dropLast(",0.00,0.00,".count)) + ",x,0.00,"
        #expect(try refusal(row: fee) == .malformed(line: 7, "bad 服务费（元） 'x'"))
    }

    @Test func unknownKindsAndShortRowsAreRefused() throws {
        #expect(try refusal(row: Self.trade.replacing(",交易,", with: ",转账,")) == .malformed(line: 7, "unknown 业务类型 '转账'"))
        #expect(try refusal(row: "1,2,交易") == .malformed(line: 7, "3 columns, not 25"))
        #expect(try refusal(row: Self.trade + ",extra") == .malformed(line: 7, "26 columns, not 25"))
        #expect(
            try refusal(row: Self.trade.replacing("2026112922001400001\t,", with: "\t,")) == .malformed(line: 7, "bad 支付宝交易号 ''"))
        // A # would make the row a comment line when written again.
        #expect(
            try refusal(row: Self.trade.replacing("2026112922001400001\t,", with: "\"#2026\","))
                == .malformed(line: 7, "bad 支付宝交易号 '#2026'"))
        let long = String(repeating: "长", count: 2000)
        #expect(
            try refusal(row: Self.trade.replacing("\"Swift, 从入门到精通\"", with: long))
                == .malformed(line: 7, "商品名称 longer than 4096 bytes"))
        #expect(try refusal(row: Self.trade.replacing("\"Swift, 从入门到精通\"", with: "\"Swift")) != nil)
    }

    @Test func missingHeaderAndFooterLinesAreRefused() throws {
        let full = Self.detail(rows: [Self.trade, Self.refund], footer: Self.footer)
        #expect(try refusal(full.replacing("#账号：[2088102177846880]\r\n", with: "")) == .malformed(line: 10, "no #账号 header line"))
        #expect(try refusal(full.replacing("#起始日期：", with: "#开始：")) == .malformed(line: 11, "no #起始日期 header line"))
        #expect(
            try refusal(full.replacing("[2026年11月29日 00:00", with: "[2026年1月29日 00:00"))
                == .malformed(line: 3, "bad 起始日期 2026年1月29日 00:00:00"))
        #expect(
            try refusal(
                full.replacing(
                    "#-----------------------------------------业务明细列表结束------------------------------------\r\n", with: ""))
                == .malformed(line: 8, "a # line inside the list"))
        #expect(try refusal(full.replacing("#交易合计", with: "#交易")) == .malformed(line: 11, "no #交易合计 footer line"))
        #expect(try refusal(full.replacing("#退款合计", with: "#退款")) == .malformed(line: 11, "no #退款合计 footer line"))
        #expect(
            try refusal(full.replacing("1笔，商家实收：1249.00元", with: "一笔，商家实收：1249.00元"))
                == .malformed(line: 9, "bad totals line #交易合计：一笔，商家实收：1249.00元，商家优惠：0.00元"))
        #expect(
            try refusal(full.replacing("[2026年11月29日 00:00", with: "[2026年02月30日 00:00"))
                == .malformed(line: 3, "bad 起始日期 2026年02月30日 00:00:00"))
        // Header values are read by the line they are on, whatever they hold.
        let odd = try AlipayBill.parse(zip: Self.zip(full.replacing("[2088102177846880]", with: "[业务明细列表结束 起始日期：[x]")))
        #expect(odd.account == "业务明细列表结束 起始日期：[x" && odd.date == "2026-11-29" && odd.rows.count == 2)
        #expect(try refusal(full + Self.trade + "\r\n") == .malformed(line: 12, "a row after the end of the list"))
    }

    @Test func footerCountsAndSumsMustMatchTheRows() throws {
        func footer(_ trades: Int, _ tradeSum: String, _ refunds: Int, _ refundSum: String) -> [String] {
            ["#交易合计：\(trades)笔，商家实收：\(tradeSum)元，商家优惠：0.00元", "#退款合计：\(refunds)笔，商家实收：\(refundSum)元，商家优惠：0.00元"]
        }
        let rows = [Self.trade, Self.refund]
        #expect(
            try refusal(Self.detail(rows: rows, footer: footer(2, "1249.00", 1, "-100.50"))) == .totalsMismatch("交易合计 2笔, rows 1")
        )
        #expect(
            try refusal(Self.detail(rows: rows, footer: footer(1, "1249.01", 1, "-100.50")))
                == .totalsMismatch("交易 商家实收 1249.01元, rows 1249.00元"))
        #expect(
            try refusal(Self.detail(rows: rows, footer: footer(1, "1249.00", 0, "-100.50"))) == .totalsMismatch("退款合计 0笔, rows 1")
        )
        #expect(
            try refusal(Self.detail(rows: rows, footer: footer(1, "1249.00", 1, "100.50")))
                == .totalsMismatch("退款 商家实收 100.50元, rows -100.50元"))
        #expect(
            try refusal(Self.detail(rows: [Self.trade], footer: footer(1, "1249.00", 1, "-100.50")))
                == .totalsMismatch("退款合计 1笔, rows 0; 退款 商家实收 -100.50元, rows 0.00元"))
    }

    @Test func aZipBombIsRefused() throws {
        // 4 MB of one byte deflates to a few kilobytes.
        let bomb = try ZipArchive.make([
            ZipArchive.Entry(
                name: try GBK.encode("2088102177846880_20261129_业务明细.csv"), data: [UInt8](repeating: 0x23, count: 4 << 20))
        ])
        #expect(bomb.count < 64 << 10)
        #expect(throws: BillError.notZip("entries unpack to more than 1048576 bytes")) {
            try AlipayBill.parse(zip: bomb, maxBytes: 1 << 20)
        }
        // The zip itself above the limit: not even opened.
        #expect(throws: BillError.tooLarge) { try AlipayBill.parse(zip: bomb, maxBytes: bomb.count - 1) }
    }
}
