import Testing

@testable import FastCGI
@testable import LuffyCore
@testable import LuffyPay

/// Wire formats and settings are split at their ASCII delimiters by byte, as every other HTTP
/// implementation and Alipay's SDKs do: a combining mark (U+0301) after a delimiter makes one Swift
/// `Character` of the two, which a split by `Character` does not see (issue 7, the reproducers of
/// the URL-form and FastCGI fuzzers).
@Suite struct ByteDelimiterTests {
    let mark = "\u{301}"

    @Test func formPairsAreSplitAfterAnAmpersandOrEqualsSignWithACombiningMark() {
        // Fuzz/corpus/urlform/combining-mark-after-ampersand
        let pairs = URLCoding.decodeForm("page=1&\(mark)size=5")
        #expect(pairs.map(\.0) == ["page", "\(mark)size"])
        #expect(pairs.map(\.1) == ["1", "5"])
        let value = URLCoding.decodeForm("k=\(mark)v&=\(mark)")
        #expect(value.map(\.0) == ["k", ""])
        #expect(value.map(\.1) == ["\(mark)v", mark])
        let request = Request(method: "GET", path: "/user/order", rawQuery: "size=2&\(mark)x=1")
        #expect(request.queryValue("size") == "2")
    }

    @Test func pathSegmentsAreSplitAfterASlashWithACombiningMark() {
        // Fuzz/corpus/fastcgi/combining-mark-after-slash.params: one more segment, so no route.
        var path = "/orders/12/\(mark)"
        let segments = path.withUTF8 { bytes in
            PathSegments(bytes).map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }
        #expect(segments == ["orders", "12", "\(mark)"])
        var router = Router<Void>()
        router.put("/orders/:id") { _, _ in .text("cancel") }
        guard case .notFound = router.match(method: "PUT", path: "/orders/12/\(mark)") else {
            Issue.record("/orders/12/<mark> must not reach the cancel route")
            return
        }
    }

    @Test func requestURIIsCutAtAQuestionMarkWithACombiningMark() {
        // Fuzz/corpus/fastcgi/combining-mark-after-question-mark.params
        let input = FastCGIInput(params: [
            "REQUEST_METHOD": "GET", "DOCUMENT_URI": "",
            "REQUEST_URI": "/user/order?\(mark)page=2",
        ])
        #expect(input.path == "/user/order")
    }

    @Test func contentTypeParametersAreSplitAfterSemicolonAndEqualsSign() {
        #expect(Request.isJSON(contentType: "application/json;\(mark)x=1"))
        #expect(!Request.isJSON(contentType: "application/json; charset=\(mark)utf-8"))
        #expect(!Request.isJSON(contentType: "application/json;\(mark)charset=utf-8;charset=latin1"))
    }

    @Test func jwtPartsAreSplitAfterADotWithACombiningMark() {
        let jwt = JWT(secret: "unit-test-secret-0123456789")
        let token = jwt.sign(JWTClaims(userID: 7, username: "x", expires: 1_900_000_000))
        let parts = token.split(separator: ".")  // base64url: ASCII only
        // Three parts, as every JWT library sees them; the MAC (checked first) does not match.
        let marked = "\(parts[0]).\(mark)\(parts[1]).\(parts[2])"
        #expect(throws: JWTError.badSignature) { try jwt.verify(marked, now: 1_800_000_000) }
    }

    @Test func courseIDListsAreSplitAfterACommaWithACombiningMark() throws {
        #expect(throws: OrderError.invalidBody) { try CourseCatalog.parseIDList("1,\(mark)3") }
        #expect(try CourseCatalog.parseIDList("1, 3") == [1, 3])
    }

    @Test func amountsAndFormulasAreSplitAfterADotOrSignWithACombiningMark() {
        #expect(Fen(decimal: "1.\(mark)5") == nil)
        #expect(Fen(decimal: "-\(mark)1.50") == nil)
        #expect(Fen(decimal: "-1.50") == Fen(-150))
        #expect(Pricing.Factor("0.\(mark)5") == nil)
        #expect(Pricing.applySale("*\(mark)0.5", to: Fen(10000)) == nil)
        #expect(Pricing.applySale("-\(mark)5", to: Fen(10000)) == nil)
        #expect(Pricing.applySale(" -5 ", to: Fen(10000)) == Fen(9500))
    }

    @Test func aDigitWithACombiningMarkIsNotADigit() {
        // As a Character, "1\u{301}" sorts between "0" and "9".
        #expect(Character("1\(mark)") > "0" && Character("1\(mark)") < "9")
        #expect(!"1\(mark)".allASCIIDigits)
        #expect(!"١".allASCIIDigits)  // ARABIC-INDIC DIGIT ONE
        #expect("0123456789".allASCIIDigits)
        #expect(Fen(decimal: "1\(mark)") == nil)
        #expect(Pricing.Factor("1\(mark)") == nil)
    }

    @Test func settingsLinesAreSplitAfterAnEqualsSignWithACombiningMark() {
        let values = SettingValues.parse("LUFFY_A=\(mark)x\r\nexport LUFFY_B=\"\(mark)y\"\n#\(mark) LUFFY_C=z\nLUFFY_D = 'q' \n")
        #expect(values == ["LUFFY_A": "\(mark)x", "LUFFY_B": "\(mark)y", "LUFFY_D": "q"])
    }

    @Test func splittingKeepsEmptyPiecesOnlyWhenAsked() {
        #expect("/a//b/".split(ascii: "/") == ["a", "b"])
        #expect("a,,b,".split(ascii: ",", omittingEmptySubsequences: false) == ["a", "", "b", ""])
        #expect("".split(ascii: ",", omittingEmptySubsequences: false) == [""])
        #expect("中=文=字".cut(atFirstASCII: "=") == ("中", "文=字"))
        #expect("中文".cut(atFirstASCII: "=") == ("中文", nil))
        #expect("*0.5".dropping(asciiPrefix: "*") == "0.5")
        #expect("*\(mark)0.5".dropping(asciiPrefix: "*") == "\(mark)0.5")
        #expect("0.5".dropping(asciiPrefix: "*") == nil)
    }
}
