import Testing

@testable import LuffyCore

@Suite struct FenTests {
    @Test(
        arguments: [("998", 99800), ("998.5", 99850), ("998.00", 99800), ("0.01", 1), ("-12.30", -1230), ("0", 0)]
            as [(String, Int64)])
    func parsesDecimalText(text: String, fen: Int64) {
        #expect(Fen(decimal: text)?.value == fen)
    }

    @Test(arguments: ["", ".5", "1.", "1.234", "abc", "1e3", "--1", "1.2.3", " 1"])
    func rejectsWhatIsNotAnAmount(text: String) {
        #expect(Fen(decimal: text) == nil)
    }

    /// The byte-by-byte parser keeps the edges of the rule: one sign, 15 whole digits at most.
    @Test func edgesOfTheDecimalRule() {
        #expect(Fen(decimal: "999999999999999.99")?.value == 99_999_999_999_999_999)
        #expect(Fen(decimal: "-0.5")?.value == -50)
        #expect(Fen(decimal: "007.1"[...])?.value == 710)
        for text in ["-", "-.5", "1234567890123456", "1.-5", "1-", "+1", "１", "1.5\u{301}"] {
            #expect(Fen(decimal: text) == nil, "\(text)")
        }
    }

    @Test func printsTwoDecimals() {
        #expect(Fen(99800).description == "998.00")
        #expect(Fen(5).description == "0.05")
        #expect(Fen(-1230).description == "-12.30")
        #expect(Fen(0).description == "0.00")
    }
}
