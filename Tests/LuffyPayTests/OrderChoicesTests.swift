import Testing

@testable import FastCGI
@testable import LuffyPay

/// `GET /orders/pay/choices`: public, the same answer for everyone, cacheable (README, "HTTP API").
@Suite struct OrderChoicesTests {
    static func header(_ response: Response, _ name: String) -> String? {
        response.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    @Test func everyStatusWithItsNameAndCachingHeaders() throws {
        let response = OrderChoicesHandler.answer(ifNoneMatch: nil)
        #expect(response.status == .ok)
        #expect(String(decoding: response.body, as: UTF8.self) == #"[[0,"未支付"],[1,"已支付"],[2,"已取消"],[3,"超时取消"],[4,"已退款"]]"#)
        #expect(Self.header(response, "Content-Type") == "application/json; charset=utf-8")
        #expect(Self.header(response, "Cache-Control") == "public, max-age=3600")
        let etag = try #require(Self.header(response, "ETag"))
        // A strong validator, quoted: the body's digest, the same on every instance of a build.
        #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count == 34)
    }

    @Test func aMatchingIfNoneMatchIs304WithoutBody() throws {
        let etag = try #require(Self.header(OrderChoicesHandler.answer(ifNoneMatch: nil), "ETag"))
        for field in [etag, "W/\(etag)", "\"other\", \(etag)", "*", " \(etag) ", "\"x\",W/\(etag)"] {
            let response = OrderChoicesHandler.answer(ifNoneMatch: field)
            #expect(response.status == HTTPStatus(304), "\(field)")
            #expect(response.body.isEmpty && Self.header(response, "ETag") == etag, "\(field)")
            #expect(Self.header(response, "Cache-Control") == "public, max-age=3600")
            #expect(Self.header(response, "Content-Type") == nil)
        }
        for field in ["", "\"other\"", etag.dropLast() + "x\"", "W/", ",,", String(repeating: "\"a\",", count: 1000), "\u{0}"] {
            #expect(OrderChoicesHandler.answer(ifNoneMatch: String(field)).status == .ok, "\(field)")
        }
    }

    @Test func a304HeadCarriesNoContentLength() throws {
        let etag = try #require(Self.header(OrderChoicesHandler.answer(ifNoneMatch: nil), "ETag"))
        let head = String(decoding: OrderChoicesHandler.answer(ifNoneMatch: etag).head(requestID: "r"), as: UTF8.self)
        #expect(
            head == "Status: 304 Not Modified\r\nCache-Control: public, max-age=3600\r\nETag: \(etag)\r\nX-Request-Id: r\r\n\r\n")
        let full = String(decoding: OrderChoicesHandler.answer(ifNoneMatch: nil).head(requestID: "r"), as: UTF8.self)
        #expect(full.hasPrefix("Status: 200 OK\r\n") && full.hasSuffix("Content-Length: 84\r\n\r\n"))
    }
}
