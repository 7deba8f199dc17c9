import LuffyCore

/// `alipay.data.dataservice.bill.downloadurl.query` and the download of the bill it points at
/// (the daily reconciliation). The URL is short-lived (about 30 s):
/// callers download at once.
extension AlipayGateway {
    public static let billURLMethod = "alipay.data.dataservice.bill.downloadurl.query"

    public enum BillURL: Sendable, Equatable {
        /// Where the day's bill can be fetched, now.
        case ready(String)
        /// `isp.bill_not_exist`: not made yet (today, a future day, or before about 09:00 the next
        /// day): ask again later.
        case notReady

        /// What a verified answer says. Any other refusal is the gateway's trouble or ours, not
        /// "later": `GatewayError.unavailable` with its codes.
        static func of(_ response: JSON, date: String) throws -> BillURL {
            if response["code"]?.stringValue == "10000" {
                guard let url = response["bill_download_url"]?.stringValue, !url.isEmpty else {
                    throw GatewayError.unavailable("\(billURLMethod) answered no bill_download_url")
                }
                return .ready(url)
            }
            if response["sub_code"]?.stringValue == "isp.bill_not_exist" { return .notReady }
            let code = response["code"]?.stringValue ?? "?"
            let subCode = response["sub_code"]?.stringValue.map { " \($0)" } ?? ""
            let subMsg = response["sub_msg"]?.stringValue.map { " (\($0))" } ?? ""
            throw GatewayError.unavailable("\(billURLMethod) for \(date) answered \(code)\(subCode)\(subMsg)")
        }

        /// A successful answer names no date, but its URL does (`bizDates=yyyyMMdd`, Alipay's and the
        /// sandbox's): one naming another day is not ours.
        static func names(_ response: JSON, date: String) -> Bool {
            guard let url = response["bill_download_url"]?.stringValue,
                let query = url.split(separator: "?", maxSplits: 1).dropFirst().first
            else { return true }
            let compact = String(date.filter { $0 != "-" })
            for pair in query.split(separator: "&") where pair.hasPrefix("bizDates=") {
                return pair.dropFirst("bizDates=".count) == compact
            }
            return true
        }
    }

    /// The download URL of the trade bill of `date` (`yyyy-MM-dd`, shop time).
    public func billDownloadURL(date: String) throws -> BillURL {
        let answer = try call(Self.billURLMethod, biz: [("bill_type", .string("trade")), ("bill_date", .string(date))]) {
            BillURL.names($0, date: date)
        }
        return try BillURL.of(answer.response, date: date)
    }

    /// GETs the bill at once (the URL expires): status 200 and a zip's first bytes, at most
    /// `maxBytes`, or `GatewayError.unavailable("bill download: …")`.
    public func downloadBill(url: String, maxBytes: Int) throws -> [UInt8] {
        let reply: HTTPClient.Reply
        do {
            reply = try http.get(url)
        } catch {
            throw GatewayError.unavailable("bill download: \(error)")
        }
        return try Self.billFile(reply, maxBytes: maxBytes)
    }

    /// The zip of a download's reply, or why it is none.
    static func billFile(_ reply: HTTPClient.Reply, maxBytes: Int) throws -> [UInt8] {
        guard reply.status == 200 else { throw GatewayError.unavailable("bill download: HTTP \(reply.status)") }
        guard reply.body.count <= maxBytes else {
            throw GatewayError.unavailable("bill download: \(reply.body.count) bytes, above \(maxBytes)")
        }
        guard reply.body.starts(with: [0x50, 0x4B, 0x03, 0x04]) else {
            throw GatewayError.unavailable("bill download: not a zip (\(reply.body.count) bytes)")
        }
        return reply.body
    }
}
