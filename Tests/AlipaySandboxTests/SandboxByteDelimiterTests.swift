import Testing

@testable import AlipaySandbox

/// The sandbox finds the ASCII delimiters of URLs and settings by byte, like the app (issue 7):
/// a combining mark (U+0301) after `?`, `/` or `,` makes one Swift `Character` with it.
@Suite struct SandboxByteDelimiterTests {
    let mark = "\u{301}"

    @Test func returnLocationSeesAQueryWhoseQuestionMarkHasACombiningMark() {
        #expect(
            SandboxProtocol.returnLocation(returnURL: "http://x/r?\(mark)", parameters: [("b", "2")])
                == "http://x/r?\(mark)&b=2")
    }

    @Test func siteEndsAtASlashWithACombiningMark() {
        #expect(CashierPages.site(of: "http://shop.example/\(mark)x") == "http://shop.example/")
        #expect(CashierPages.site(of: "http://shop.example?\(mark)x") == "http://shop.example/")
    }

    @Test func delaysAreSplitAfterACommaWithACombiningMark() {
        #expect(SandboxSettings.parseDelays("1,\(mark)2") == nil)
        #expect(SandboxSettings.parseDelays("1, 2") == [1, 2])
    }
}
