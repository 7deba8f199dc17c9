import LuffyCore
import Testing

@testable import Alipay

/// What the bill calls read from a verified answer and a download's reply (the exchange itself is
/// the gateway's one path, exercised against alipay-sandbox by the integration tests).
@Suite struct AlipayBillsTests {
    func response(_ text: String) throws -> JSON { try JSON.parse(Array(text.utf8)) }

    @Test func aReadyAnswerGivesTheURL() throws {
        let url =
            "http://127.0.0.1:8090/downloadBillFile.resource?bizType=trade&userId=2088&fileType=csv.zip&bizDates=20261129&token=ab"
        let ready = try response(#"{"code":"10000","msg":"Success","bill_download_url":"\#(url)"}"#)
        #expect(try AlipayGateway.BillURL.of(ready, date: "2026-11-29") == .ready(url))
        #expect(AlipayGateway.BillURL.names(ready, date: "2026-11-29"))
        #expect(!AlipayGateway.BillURL.names(ready, date: "2026-11-28"))
        let dateless = try response(#"{"code":"10000","bill_download_url":"http://x/bill?token=1"}"#)
        #expect(AlipayGateway.BillURL.names(dateless, date: "2026-11-28"))
        #expect(throws: AlipayGateway.GatewayError.self) {
            try AlipayGateway.BillURL.of(try response(#"{"code":"10000","msg":"Success"}"#), date: "2026-11-29")
        }
    }

    @Test func billNotExistIsNotReady() throws {
        let later = try response(
            #"{"code":"40004","msg":"Business Failed","sub_code":"isp.bill_not_exist","sub_msg":"账单不存在"}"#)
        #expect(try AlipayGateway.BillURL.of(later, date: "2026-11-30") == .notReady)
    }

    @Test func otherRefusalsAreTheGatewaysTrouble() throws {
        let method = "alipay.data.dataservice.bill.downloadurl.query for 2026-11-29 answered"
        for (answer, message) in [
            (
                #"{"code":"40004","msg":"Business Failed","sub_code":"isv.invalid-bill-date","sub_msg":"日期错误"}"#,
                "\(method) 40004 isv.invalid-bill-date (日期错误)"
            ),
            (
                #"{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error"}"#,
                "\(method) 20000 isp.unknow-error"
            ),
            (#"{"code":"40002","msg":"Invalid Arguments"}"#, "\(method) 40002"),
        ] {
            do {
                _ = try AlipayGateway.BillURL.of(try response(answer), date: "2026-11-29")
                Issue.record("\(answer) was taken")
            } catch let AlipayGateway.GatewayError.unavailable(detail) {
                #expect(detail == message)
            }
        }
    }

    @Test func aDownloadMustBeAZipWithin200AndTheLimit() throws {
        let zip = try ZipArchive.make([ZipArchive.Entry(name: Array("a".utf8), data: [1])])
        func reply(_ status: Int, _ body: [UInt8]) -> HTTPClient.Reply { .init(status: status, body: body, headers: [:]) }
        #expect(try AlipayGateway.billFile(reply(200, zip), maxBytes: zip.count) == zip)
        let refusals: [(HTTPClient.Reply, Int, String)] = [
            (reply(404, Array("expired".utf8)), 1000, "bill download: HTTP 404"),
            (reply(200, Array("<html>".utf8)), 1000, "bill download: not a zip (6 bytes)"),
            (reply(200, []), 1000, "bill download: not a zip (0 bytes)"),
            (reply(200, zip), zip.count - 1, "bill download: \(zip.count) bytes, above \(zip.count - 1)"),
        ]
        for (answer, limit, message) in refusals {
            do {
                _ = try AlipayGateway.billFile(answer, maxBytes: limit)
                Issue.record("\(message): taken")
            } catch let AlipayGateway.GatewayError.unavailable(detail) {
                #expect(detail == message)
            }
        }
    }
}
