@testable import FastCGI
@testable import LuffyCore
@testable import LuffyPay

// The params-to-request step as the server runs it: the bytes nginx sends on a connection
// (FastCGI records, read by FastCGIRequestReader) → params → FastCGIInput → the Request, its
// request id and the router's path parameters. The reader's answer never depends on how the reads
// split the stream, params survive being encoded again, nothing in a request comes from anywhere
// but the params, and nothing a client sends can split the response head.

let router = Router<RequestContext>.luffyPay()
let maxHead = 65536
let maxBody = 1 << 20

typealias ReadRequest = (requestID: UInt16, params: [String: String], body: [UInt8])

/// The request read from `pieces` fed one after the other, as reads of a socket would give them.
func read(_ pieces: [ArraySlice<UInt8>]) -> Result<ReadRequest, FastCGIRequestError> {
    var reader = FastCGIRequestReader(maxHead: maxHead, maxBody: maxBody)
    for piece in pieces {
        var failure: FastCGIRequestError?
        Array(piece).withUnsafeBytes { raw in
            do throws(FastCGIRequestError) { try reader.feed(raw) } catch { failure = error }
        }
        if let failure { return .failure(failure) }
    }
    guard reader.phase == .complete else { return .failure(.incomplete) }
    return .success((reader.requestID, reader.params, reader.body))
}

func same(_ a: Result<ReadRequest, FastCGIRequestError>, _ b: Result<ReadRequest, FastCGIRequestError>) -> Bool {
    switch (a, b) {
    case let (.success(x), .success(y)): return x.requestID == y.requestID && x.params == y.params && x.body == y.body
    case let (.failure(x), .failure(y)): return x == y
    default: return false
    }
}

/// FastCGI name-value pairs: each length in 1 byte below 128, else in 4 with the top bit set.
func encodeParams(_ params: [String: String]) -> [UInt8] {
    func length(_ n: Int) -> [UInt8] {
        n < 128 ? [UInt8(n)] : [UInt8(0x80 | (n >> 24)), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
    }
    var out: [UInt8] = []
    for (name, value) in params {
        out += length(name.utf8.count) + length(value.utf8.count) + Array(name.utf8) + Array(value.utf8)
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFastCGI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let whole = read([bytes[...]])
    // Two reads split where the input's last byte says, and one read per byte: the same answer.
    let cut = bytes.isEmpty ? 0 : Int(bytes[bytes.count - 1]) % (bytes.count + 1)
    require(same(whole, read([bytes[..<cut], bytes[cut...]])), "the answer depends on a split at \(cut)")
    if bytes.count <= 512 {
        require(same(whole, read(bytes.indices.map { bytes[$0...$0] })), "the answer depends on byte-wise reads")
    }
    guard case let .success(read) = whole else { return 0 }
    let params = read.params
    let again = try? FastCGIRecord.decodeParams(encodeParams(params))
    require(again == params, "params read once do not read the same when encoded again")

    let input = FastCGIInput(params: params)

    require(sameBytes(input.method, params["REQUEST_METHOD"] ?? "GET"), "method \(shown(input.method)) not from the params")
    require(sameBytes(input.query, params["QUERY_STRING"] ?? ""), "query \(shown(input.query)) not from the params")
    if let uri = params["DOCUMENT_URI"], !uri.isEmpty {
        require(sameBytes(input.path, uri), "path \(shown(input.path)) is not DOCUMENT_URI \(shown(uri))")
    } else {
        let raw = Array((params["REQUEST_URI"] ?? "/").utf8)
        let beforeQuery = raw.split(separator: UInt8(ascii: "?"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        require(
            sameBytes(input.path, URLCoding.decode(String(decoding: beforeQuery, as: UTF8.self), plusIsSpace: false)),
            "path \(shown(input.path)) is not the decoded REQUEST_URI path \(shown(raw))")
    }
    if let length = params["CONTENT_LENGTH"].flatMap({ Int($0) }), length >= 0 {
        require(input.contentLength == length, "content length \(input.contentLength), CONTENT_LENGTH \(length)")
    } else {
        require(input.contentLength == 0, "content length \(input.contentLength) without a CONTENT_LENGTH")
    }

    // Every header is an HTTP_* param (or CONTENT_TYPE) under its lower-case dashed name, and
    // every HTTP_* param is a header.
    let httpParams = params.filter { $0.key.hasPrefix("HTTP_") }
    for (name, value) in input.headers {
        let fromContentType = sameBytes(name, "content-type") && params["CONTENT_TYPE"].map { sameBytes($0, value) } == true
        let fromParam = httpParams.contains { isHeaderName(name, of: $0.key) && sameBytes($0.value, value) }
        require(fromContentType || fromParam, "header \(shown(name)): \(shown(value)) not from the params")
        require(!name.utf8.contains { (0x41...0x5A).contains($0) || $0 == UInt8(ascii: "_") }, "header name \(shown(name))")
    }
    for param in httpParams.keys {
        require(input.headers.keys.contains { isHeaderName($0, of: param) }, "param \(shown(param)) lost")
    }

    // The request id a response and the log carry: the client's only when it is a plain token.
    let given = input.headers["x-request-id"]
    let requestID = RequestID.accept(given)
    require((1...64).contains(requestID.utf8.count) && requestID.utf8.allSatisfy(isTokenByte), "request id \(shown(requestID))")
    if let given, !sameBytes(given, requestID) {
        require(
            !((1...64).contains(given.utf8.count) && given.utf8.allSatisfy(isTokenByte)),
            "sane request id \(shown(given)) replaced")
    }
    let head = Response.text("ok").head(requestID: requestID)
    require(
        head.filter { $0 == 0x0A }.count == 5 && head.filter { $0 == 0x0D }.count == 5
            && head.split(separator: 0x0A).contains(Array("X-Request-Id: \(requestID)\r".utf8)[...]),
        "response head \(shown(head))")

    // The query and the route's path parameters come from the query string and the path.
    let request = Request(
        method: HTTPMethod(rawValue: input.method), path: input.path, rawQuery: input.query, headers: input.headers,
        requestID: requestID)
    require(samePairs(request.query, URLCoding.decodeForm(input.query)), "query pairs not from QUERY_STRING")
    if case let .found(_, captured) = router.match(method: request.method, path: request.path) {
        let segments = request.path.utf8.split(separator: UInt8(ascii: "/")).map { Array($0) }
        for (name, value) in captured {
            require(
                segments.contains(Array(value.utf8)),
                "path parameter \(name)=\(shown(value)) not a segment of \(shown(request.path))")
        }
    }
    return 0
}

/// `HTTP_X_REQUEST_ID` → `x-request-id`: `_` becomes `-`, ASCII upper case lower case, nothing else changes.
func isHeaderName(_ name: String, of param: String) -> Bool {
    let source = Array(param.utf8.dropFirst(5))
    let target = Array(name.utf8)
    return source.count == target.count
        && zip(source, target).allSatisfy { s, t in
            s == UInt8(ascii: "_") ? t == UInt8(ascii: "-") : (0x41...0x5A).contains(s) ? t == s + 32 : t == s
        }
}

func isTokenByte(_ b: UInt8) -> Bool {
    (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2D || b == 0x5F || b == 0x2E
}
