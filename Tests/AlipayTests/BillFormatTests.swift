import Testing

@testable import Alipay

/// The pieces under the bill parser: CSV, GBK, zip.
@Suite struct BillFormatTests {
    @Test func csvReadsQuotedFieldsAndEscapes() throws {
        #expect(try CSV.rows("a,b,c\r\n1,2,3\r\n") == [["a", "b", "c"], ["1", "2", "3"]])
        #expect(try CSV.rows("a,b\n1,2") == [["a", "b"], ["1", "2"]])
        #expect(try CSV.rows("a\rb\r\n") == [["a"], ["b"]])
        #expect(try CSV.rows(#""x, y","say ""hi""",z"#) == [["x, y", #"say "hi""#, "z"]])
        #expect(try CSV.rows("\"two\r\nlines\",\"a\nb\"\r\nnext\r\n") == [["two\r\nlines", "a\nb"], ["next"]])
        #expect(try CSV.rows(",,\r\n\r\n\"\"\r\n") == [["", "", ""], [""], [""]])
        #expect(try CSV.rows("") == [])
        #expect(try CSV.rows("中文,\"名,称\"\n") == [["中文", "名,称"]])
        // A quote inside an unquoted field is kept (real names have them).
        #expect(try CSV.rows(#"5"屏,b"#) == [[#"5"屏"#, "b"]])
        // Tabs are data to CSV; the bill trims them.
        #expect(try CSV.rows("1\t,\t2") == [["1\t", "\t2"]])
    }

    @Test func csvRefusesBrokenQuotes() {
        #expect(throws: BillError.malformed(line: 2, "a quoted field is not closed")) { try CSV.rows("ok\n\"open,\nmore") }
        #expect(throws: BillError.malformed(line: 1, "text after a closing quote")) { try CSV.rows(#""a"b,c"#) }
    }

    @Test func csvReaderCountsLinesAcrossQuotedBreaks() throws {
        var reader = CSV.Reader("a\n\"b\nc\"\r\nd\n")
        #expect(try reader.next() == ["a"] && reader.line == 1)
        #expect(try reader.next() == ["b\nc"] && reader.line == 2)
        #expect(try reader.next() == ["d"] && reader.line == 4)
        #expect(try reader.next() == nil)
        var comments = CSV.Reader("#x,\"y\n1,2\n")
        #expect(comments.rawLine(startingWith: UInt8(ascii: "#")) == "#x,\"y")
        #expect(comments.rawLine(startingWith: UInt8(ascii: "#")) == nil)
        #expect(try comments.next() == ["1", "2"] && comments.line == 2)
    }

    @Test func csvWritesQuotesOnlyWhenNeeded() throws {
        #expect(CSV.line(["a", "b c", "中文", "", "1.00"]) == "a,b c,中文,,1.00")
        #expect(CSV.line(["x, y", #"say "hi""#, "a\nb", "c\rd"]) == #""x, y","say ""hi""","a"# + "\nb\",\"c\rd\"")
        // A quote before a combining mark (one Character with it) is doubled all the same.
        #expect(CSV.line(["a\"\u{05A7}b"]) == "\"a\"\"\u{05A7}b\"")
        let fields = ["x, y", #""quoted""#, "a\r\nb", "", "\t1\t", "普通", "\"\u{301}"]
        #expect(try CSV.rows(Substring(CSV.line(fields) + "\r\n")) == [fields])
    }

    @Test func gbkRoundTripsChineseNames() throws {
        #expect(try GBK.encode("中文") == [0xD6, 0xD0, 0xCE, 0xC4])
        #expect(try GBK.decode([0xD6, 0xD0, 0xCE, 0xC4]) == "中文")
        for name in ["前端学习通用优惠券", "Python入门,第2版", "商家实收（元）", "张三", "abc", ""] {
            #expect(try GBK.decode(GBK.encode(name)) == name)
        }
        // GB18030's four-byte forms, which GBK has not, still read (¥ is 81 30 84 36).
        #expect(try GBK.decode([0x81, 0x30, 0x84, 0x36]) == "¥")
    }

    @Test func whatIsNotGBKIsRefused() {
        #expect(throws: BillError.notGBK) { try GBK.decode([0x41, 0xFF]) }
        #expect(throws: BillError.notGBK) { try GBK.decode([0xD6]) }
        #expect(throws: BillError.notGBK) { try GBK.encode("😀") }
    }

    @Test func zipRoundTripsRawNames() throws {
        let gbkName: [UInt8] = [0xD6, 0xD0, 0xCE, 0xC4] + Array(".csv".utf8)
        let entries = [
            ZipArchive.Entry(name: gbkName, data: Array(repeating: 0x41, count: 100_000)),
            ZipArchive.Entry(name: Array("empty.txt".utf8), data: []),
            ZipArchive.Entry(name: Array("中文.txt".utf8), data: [0, 1, 2, 255]),
        ]
        let zip = try ZipArchive.make(entries)
        #expect(zip.starts(with: [0x50, 0x4B, 0x03, 0x04]))
        #expect(zip.count < 2_000)  // deflated
        #expect(try ZipArchive.entries(of: zip, maxTotalBytes: 100_004) == entries)
        #expect(throws: BillError.notZip("entries unpack to more than 100003 bytes")) {
            try ZipArchive.entries(of: zip, maxTotalBytes: 100_003)
        }
        #expect(throws: BillError.notZip("bad entry name")) { try ZipArchive.make([ZipArchive.Entry(name: [], data: [])]) }
    }
}
