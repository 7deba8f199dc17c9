public import LuffyCore

/// Why a gateway response (`{"<method>_response":…,"sign":…}`, signed over the response
/// object's exact bytes; docs/SANDBOX.md) was not accepted.
public enum AlipayResponseError: Error, Equatable, CustomStringConvertible {
    /// The body is not a JSON object (a repeated member included: `JSON.parse` refuses those, so
    /// which copy was signed can never be ambiguous), or `sign` / the response member has the
    /// wrong type.
    case malformed
    /// No `<method>_response` member (named here).
    case missingResponse(String)
    /// No `sign` member: Alipay omits it on some errors; such a body is never trusted.
    case missingSignature
    case invalidSignature

    public var description: String {
        switch self {
        case .malformed: return "Alipay response is not the expected JSON object"
        case let .missingResponse(key): return "Alipay response has no \(key)"
        case .missingSignature: return "Alipay response is not signed"
        case .invalidSignature: return "Alipay response signature does not verify"
        }
    }
}

/// Gateway API responses `{"<method_with_underscores>_response": {...}, "sign": "..."}`: the
/// signature covers the exact bytes of the response object's JSON text as received, so those bytes
/// are cut out of the body, never re-serialized.
public enum AlipayResponse {
    /// `alipay.trade.query` → `alipay_trade_query_response`.
    public static func responseKey(method: String) -> String {
        String(method.map { $0 == "." ? "_" : $0 }) + "_response"
    }

    /// The exact bytes of the `key` member's value and the `sign` value (JSON-unescaped).
    public static func extract(body: [UInt8], key: String) throws -> (content: ArraySlice<UInt8>, sign: String) {
        // Whole-document validation first: the scanner below then only walks well-formed JSON.
        guard let document = try? JSON.parse(body), case let .object(fields) = document else {
            throw AlipayResponseError.malformed
        }
        guard fields.contains(where: { $0.0 == key }) else { throw AlipayResponseError.missingResponse(key) }
        guard let signValue = document["sign"] else { throw AlipayResponseError.missingSignature }
        guard case let .string(sign) = signValue else { throw AlipayResponseError.malformed }
        var scanner = RawJSONScanner(bytes: body)
        guard let range = try scanner.topLevelMembers().first(where: { $0.key == key })?.value else {
            throw AlipayResponseError.missingResponse(key)
        }
        return (body[range], sign)
    }

    /// The `<method>_response` object, only when its exact bytes carry a valid signature by
    /// Alipay's key. Callers still check `code` (`10000` is success) and the business fields.
    public static func verified(body: [UInt8], method: String, publicKey: RSAPublicKey) throws -> JSON {
        let (content, sign) = try extract(body: body, key: responseKey(method: method))
        guard let signature = Base64.decode(sign), !signature.isEmpty,
            publicKey.verify(signature: signature, data: Array(content))
        else {
            throw AlipayResponseError.invalidSignature
        }
        // Parsed from the verified bytes themselves, so what is returned is what was signed.
        guard let object = try? JSON.parse(Array(content)), case .object = object else {
            throw AlipayResponseError.malformed
        }
        return object
    }
}

/// Finds where each top-level member's value starts and ends in a JSON object's text, honoring
/// strings and their escapes. Meant for documents `JSON.parse` has already accepted; it still
/// never reads out of bounds on anything else.
struct RawJSONScanner {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Decoded keys with the byte range of their values, in document order.
    mutating func topLevelMembers() throws -> [(key: String, value: Range<Int>)] {
        var members: [(key: String, value: Range<Int>)] = []
        skipWhitespace()
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { return members }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw AlipayResponseError.malformed }
            let keyStart = index
            try skipString()
            guard case let .string(key)? = try? JSON.parse(Array(bytes[keyStart..<index])) else {
                throw AlipayResponseError.malformed
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let valueStart = index
            try skipValue()
            members.append((key, valueStart..<index))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): return members
            default: throw AlipayResponseError.malformed
            }
        }
    }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw AlipayResponseError.malformed }
        index += 1
    }

    mutating func skipWhitespace() {
        while let b = peek(), b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 }
    }

    /// From an opening quote to just past its closing quote; a backslash always takes the next
    /// byte with it, so `\"` and `\\` are handled.
    mutating func skipString() throws {
        try expect(UInt8(ascii: "\""))
        while let b = peek() {
            index += 1
            if b == UInt8(ascii: "\"") { return }
            if b == UInt8(ascii: "\\") {
                guard peek() != nil else { break }
                index += 1
            }
        }
        throw AlipayResponseError.malformed
    }

    /// One value: a string, a scalar, or an object/array up to its matching close, with brackets
    /// inside strings ignored.
    mutating func skipValue() throws {
        guard let first = peek() else { throw AlipayResponseError.malformed }
        switch first {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while let b = peek() {
                switch b {
                case UInt8(ascii: "\""):
                    try skipString()
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { index += 1; return }
                default:
                    break
                }
                index += 1
            }
            throw AlipayResponseError.malformed
        default:
            // true, false, null or a number: up to the next delimiter.
            let start = index
            while let b = peek(), b != UInt8(ascii: ","), b != UInt8(ascii: "}"), b != UInt8(ascii: "]"),
                b != 0x20, b != 0x09, b != 0x0A, b != 0x0D
            {
                index += 1
            }
            guard index > start else { throw AlipayResponseError.malformed }
        }
    }
}
