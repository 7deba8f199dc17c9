/// The FastCGI record layer, as a responder behind nginx needs it: one request per connection
/// (BEGIN_REQUEST, PARAMS records up to an empty one, STDIN records up to an empty one), answered
/// with STDOUT records and END_REQUEST, then the connection is closed.
///
/// Why not libfcgi's: it reads the begin-request and every param inside `FCGX_Accept_r` with
/// no size limit and no deadline, and the body lazily with blocking reads, so one local client
/// could pin a worker forever or make it allocate any amount (issue 7). Bounding it from outside
/// would mean peeking at the kernel's queue, which cannot wait for "more bytes" without spinning,
/// and a per-read time-out, which a client sending a byte now and then never trips. This layer is
/// small, incremental (bytes are fed as they arrive, so the caller owns every read and its
/// deadline) and strict: anything nginx does not send is refused. Pure, for tests and fuzzing.
enum FastCGIRecord {
    static let version: UInt8 = 1
    static let headerLength = 8
    static let beginRequest: UInt8 = 1
    static let abortRequest: UInt8 = 2
    static let endRequest: UInt8 = 3
    static let params: UInt8 = 4
    static let stdin: UInt8 = 5
    static let stdout: UInt8 = 6
    static let responderRole = 1
    /// Largest STDOUT content per record: a multiple of 8, so no padding is needed.
    static let maxStdoutContent = 65528

    /// The bytes of an answer: `stdout` in STDOUT records, the empty STDOUT record that ends the
    /// stream, and END_REQUEST (application status 0, FCGI_REQUEST_COMPLETE).
    static func response(requestID: UInt16, stdout: [UInt8]) -> [UInt8] {
        let records = (stdout.count + maxStdoutContent - 1) / maxStdoutContent
        var out: [UInt8] = []
        out.reserveCapacity(stdout.count + headerLength * (records + 2) + 8)
        var offset = 0
        while offset < stdout.count {
            let length = min(maxStdoutContent, stdout.count - offset)
            appendHeader(&out, type: FastCGIRecord.stdout, requestID: requestID, contentLength: length)
            out.append(contentsOf: stdout[offset..<offset + length])
            offset += length
        }
        appendHeader(&out, type: FastCGIRecord.stdout, requestID: requestID, contentLength: 0)
        appendHeader(&out, type: endRequest, requestID: requestID, contentLength: 8)
        out.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        return out
    }

    private static func appendHeader(_ out: inout [UInt8], type: UInt8, requestID: UInt16, contentLength: Int) {
        out.append(contentsOf: [
            version, type, UInt8(requestID >> 8), UInt8(requestID & 0xFF),
            UInt8(contentLength >> 8), UInt8(contentLength & 0xFF), 0, 0,
        ])
    }

    /// FastCGI name-value pairs (lengths of 1 byte, or 4 with the top bit set). A name given twice
    /// keeps its last value.
    static func decodeParams(_ bytes: [UInt8]) throws(FastCGIRequestError) -> [String: String] {
        var params: [String: String] = [:]
        var i = 0
        func length() throws(FastCGIRequestError) -> Int {
            guard i < bytes.count else { throw .malformed("truncated name-value length") }
            let first = bytes[i]
            if first & 0x80 == 0 {
                i += 1
                return Int(first)
            }
            guard bytes.count - i >= 4 else { throw .malformed("truncated name-value length") }
            let value = Int(first & 0x7F) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            i += 4
            return value
        }
        while i < bytes.count {
            let nameLength = try length()
            let valueLength = try length()
            guard nameLength <= bytes.count - i, valueLength <= bytes.count - i - nameLength else {
                throw .malformed("name-value pair longer than its records")
            }
            let name = String(decoding: bytes[i..<i + nameLength], as: UTF8.self)
            i += nameLength
            params[name] = String(decoding: bytes[i..<i + valueLength], as: UTF8.self)
            i += valueLength
        }
        return params
    }
}

enum FastCGIRequestError: Error, Equatable {
    /// Not FastCGI as nginx speaks it (wrong version, record type, request id or role, a second
    /// request on the connection, a management record): the connection is closed unanswered.
    case malformed(String)
    /// More than the head limit before the params ended (LUFFY_FCGI_MAX_PARAMS).
    case headTooLarge
    /// More STDIN than the body limit (LUFFY_MAX_BODY): answered 413.
    case bodyTooLarge
    /// The web server gave up on the request (FCGI_ABORT_REQUEST).
    case aborted
    /// The bytes ended before the empty STDIN record (only from `parse`).
    case incomplete
}

/// Reads one request from bytes fed in any pieces. Memory is bounded by the limits: the head
/// (begin-request and params records, headers and padding included) by `maxHead`, the body by
/// `maxBody`; a record's padding is skipped, never stored.
struct FastCGIRequestReader {
    enum Phase: Int, Comparable {
        case begin, params, stdin, complete
        static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    let maxHead: Int
    let maxBody: Int
    private(set) var phase = Phase.begin
    private(set) var requestID: UInt16 = 0
    /// Complete once `phase` has passed `.params`.
    private(set) var params: [String: String] = [:]
    private(set) var body: [UInt8] = []

    private var headBytes = 0
    private var header: [UInt8] = []
    private var inRecord = false
    private var type: UInt8 = 0
    private var recordLength = 0
    private var contentLeft = 0
    private var paddingLeft = 0
    /// The begin-request body, then the params content so far.
    private var content: [UInt8] = []

    init(maxHead: Int, maxBody: Int) {
        self.maxHead = maxHead
        self.maxBody = maxBody
        header.reserveCapacity(FastCGIRecord.headerLength)
    }

    /// The whole request from its bytes: what the server does, minus the socket.
    static func parse(_ bytes: [UInt8], maxHead: Int, maxBody: Int) throws(FastCGIRequestError)
        -> (requestID: UInt16, params: [String: String], body: [UInt8])
    {
        var reader = FastCGIRequestReader(maxHead: maxHead, maxBody: maxBody)
        var failure: FastCGIRequestError?
        bytes.withUnsafeBytes { raw in
            do throws(FastCGIRequestError) { try reader.feed(raw) } catch { failure = error }
        }
        if let failure { throw failure }
        guard reader.phase == .complete else { throw .incomplete }
        return (reader.requestID, reader.params, reader.body)
    }

    /// Consumes `bytes`; bytes after the request's end are ignored (nginx sends none).
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(FastCGIRequestError) {
        var i = 0
        while phase != .complete {
            if !inRecord {
                let take = min(FastCGIRecord.headerLength - header.count, bytes.count - i)
                if take == 0 { return }
                header.append(contentsOf: bytes[i..<i + take])
                try countHead(take)
                i += take
                if header.count < FastCGIRecord.headerLength { return }
                try startRecord()
            }
            if contentLeft > 0 {
                let take = min(contentLeft, bytes.count - i)
                if take == 0 { return }
                if type == FastCGIRecord.stdin {
                    guard take <= maxBody - body.count else { throw .bodyTooLarge }
                    body.append(contentsOf: bytes[i..<i + take])
                } else {
                    try countHead(take)
                    content.append(contentsOf: bytes[i..<i + take])
                }
                contentLeft -= take
                i += take
                if contentLeft > 0 { return }
            }
            if paddingLeft > 0 {
                let take = min(paddingLeft, bytes.count - i)
                if take == 0 { return }
                try countHead(take)
                paddingLeft -= take
                i += take
                if paddingLeft > 0 { return }
            }
            try endRecord()
        }
    }

    private mutating func countHead(_ count: Int) throws(FastCGIRequestError) {
        guard phase < .stdin else { return }
        headBytes += count
        if headBytes > maxHead { throw .headTooLarge }
    }

    private mutating func startRecord() throws(FastCGIRequestError) {
        guard header[0] == FastCGIRecord.version else { throw .malformed("FastCGI version \(header[0])") }
        type = header[1]
        let id = UInt16(header[2]) << 8 | UInt16(header[3])
        recordLength = Int(header[4]) << 8 | Int(header[5])
        contentLeft = recordLength
        paddingLeft = Int(header[6])
        header.removeAll(keepingCapacity: true)
        inRecord = true
        switch phase {
        case .begin:
            guard type == FastCGIRecord.beginRequest, id != 0, recordLength == 8 else {
                throw .malformed("expected a begin-request record, got type \(type) id \(id)")
            }
            requestID = id
        case .params, .stdin:
            guard id == requestID else { throw .malformed("record for request \(id) inside request \(requestID)") }
            if type == FastCGIRecord.abortRequest { throw .aborted }
            let expected = phase == .params ? FastCGIRecord.params : FastCGIRecord.stdin
            guard type == expected else { throw .malformed("record type \(type) where \(expected) belongs") }
        case .complete:
            break
        }
    }

    private mutating func endRecord() throws(FastCGIRequestError) {
        inRecord = false
        switch phase {
        case .begin:
            let role = Int(content[0]) << 8 | Int(content[1])
            // FCGI_KEEP_CONN (content[2]) is not honoured: every connection carries one request
            // and is closed after it, as nginx without fastcgi_keep_conn expects.
            guard role == FastCGIRecord.responderRole else { throw .malformed("role \(role)") }
            content.removeAll(keepingCapacity: true)
            phase = .params
        case .params where recordLength == 0:
            params = try FastCGIRecord.decodeParams(content)
            content = []
            phase = .stdin
        case .stdin where recordLength == 0:
            phase = .complete
        default:
            break
        }
    }
}
