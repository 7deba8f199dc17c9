import Testing

@testable import FastCGI
@testable import LuffyCore

@Suite struct URLCodingTests {
    @Test func decodesFormsOnce() {
        let pairs = URLCoding.decodeForm("a=1&b=x+y&c=%E4%B8%AD%2B&d=%2541&e&=z")
        #expect(pairs.map(\.0) == ["a", "b", "c", "d", "e", ""])
        #expect(pairs.map(\.1) == ["1", "x y", "中+", "%41", "", "z"])
    }

    @Test func decodesTheEdgesOfAForm() {
        let pairs = URLCoding.decodeForm("&&a=b=c&%3D=%&x=%4&%FF=%E4%B8&=&k=v&")
        #expect(pairs.map(\.0) == ["a", "=", "x", "\u{FFFD}", "", "k"])
        #expect(pairs.map(\.1) == ["b=c", "%", "%4", "\u{FFFD}", "", "v"])
        #expect(URLCoding.decodeForm("").isEmpty && URLCoding.decodeForm("&").isEmpty)
        #expect(URLCoding.decodeForm("a=1&b=2".dropFirst(4)).map(\.1) == ["2"])
    }

    @Test func keepsInvalidEscapesLiterally() {
        #expect(URLCoding.decode("100%zz%4", plusIsSpace: true) == "100%zz%4")
    }

    @Test func encodesEverythingButUnreserved() {
        #expect(URLCoding.encode("a b+c&d=e/中~") == "a%20b%2Bc%26d%3De%2F%E4%B8%AD~")
    }

    @Test func roundTrips() {
        let pairs = [("k y", "v&=+ 中"), ("page", "2")]
        let decoded = URLCoding.decodeForm(URLCoding.encodeForm(pairs))
        #expect(decoded.map(\.0) == pairs.map(\.0))
        #expect(decoded.map(\.1) == pairs.map(\.1))
    }

    @Test func paginationLinksKeepTheQuery() {
        let request = Request(method: "GET", path: "/user/order", rawQuery: "page=2&size=5&status=-1")
        #expect(request.url(replacingQuery: "page", with: "3") == "/user/order?page=3&size=5&status=-1")
        let bare = Request(method: "GET", path: "/orders/list", rawQuery: "size=5")
        #expect(bare.url(replacingQuery: "page", with: "2") == "/orders/list?size=5&page=2")
    }
}
