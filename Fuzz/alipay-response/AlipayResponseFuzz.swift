@testable import Alipay
@testable import LuffyCore

// Gateway answers (`{"<method>_response":…,"sign":…}`, docs/SANDBOX.md):
// AlipayResponse.extract/verified and the raw scanner under them. The scanner returns the exact
// bytes of each member's value (the bytes Alipay signs), agrees with JSON.parse on every document
// it accepts, never reads out of bounds on anything else, and `verified` returns only content
// whose own bytes carry the signature.

let alipayKey = makeRSAKey()
let alipayPublicKey = alipayKey.publicKey

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzerArguments) -> CInt {
    _ = alipayPublicKey  // the key is made here, before the first input's clock starts
    return 0
}
let method = "alipay.trade.query"
let responseKey = AlipayResponse.responseKey(method: method)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAlipayResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    checkScanner(body: input)
    checkExtract(body: input)
    require(
        (try? AlipayResponse.verified(body: input, method: method, publicKey: alipayPublicKey)) == nil,
        "a body nobody signed verified")
    checkEmbedded(value: input, signed: signsThisOne(input))
    return 0
}

/// On any bytes: ranges inside the body, in order; on a document JSON.parse accepts as an object,
/// the same members as the parser, each range holding exactly that member's value.
func checkScanner(body: [UInt8]) {
    var scanner = RawJSONScanner(bytes: body)
    let members = try? scanner.topLevelMembers()
    if let members {
        var end = 0
        for member in members {
            require(
                member.value.lowerBound >= end && member.value.upperBound <= body.count && !member.value.isEmpty,
                "member \(shown(member.key)) has range \(member.value) in \(body.count) bytes")
            end = member.value.upperBound
        }
    }
    guard case let .object(fields)? = try? JSON.parse(body) else { return }
    guard let members else { fatalError("property violated: the scanner refused a valid object: \(shown(body))") }
    require(
        members.count == fields.count && zip(members, fields).allSatisfy { sameBytes($0.key, $1.0) },
        "scanner members \(members.map(\.key)) are not the parser's \(fields.map(\.0))")
    for (member, field) in zip(members, fields) {
        let bytes = body[member.value]
        require(
            !isJSONWhitespace(bytes.first!) && !isJSONWhitespace(bytes.last!),
            "range of \(shown(member.key)) has whitespace at an end: \(shown(bytes))")
        require((try? JSON.parse(Array(bytes))) == field.1, "range of \(shown(member.key)) is not its value: \(shown(bytes))")
    }
}

/// extract refuses only what it must, and what it returns is the member and the sign as parsed.
func checkExtract(body: [UInt8]) {
    let document = try? JSON.parse(body)
    do {
        let (content, sign) = try AlipayResponse.extract(body: body, key: responseKey)
        require(content.startIndex >= 0 && content.endIndex <= body.count, "content out of the body")
        require(
            (try? JSON.parse(Array(content))) == document?[responseKey], "content is not the response member: \(shown(content))")
        require(document?["sign"]?.stringValue.map { sameBytes($0, sign) } == true, "sign is not the parsed sign")
    } catch {
        guard case let .object(fields)? = document, fields.contains(where: { sameBytes($0.0, responseKey) }),
            case .string? = document?["sign"]
        else { return }
        fatalError("property violated: a well-formed signed answer was refused (\(error)): \(shown(body))")
    }
}

/// A JSON value as the response member of an answer laid out with whitespace around it: the
/// content cut out is exactly its bytes; signed over those bytes, `verified` returns it; signed
/// over anything else, it is refused.
func checkEmbedded(value: [UInt8], signed: Bool) {
    guard let parsed = try? JSON.parse(value) else { return }
    var start = 0
    var end = value.count
    while start < end, isJSONWhitespace(value[start]) { start += 1 }
    while end > start, isJSONWhitespace(value[end - 1]) { end -= 1 }
    let exact = Array(value[start..<end])
    let signature: [UInt8]
    do { signature = signed ? try alipayKey.sign(exact) : [0x73] } catch { fatalError("signing failed: \(error)") }
    let sign = Array(Base64.encode(signature).utf8)
    let key = Array("\"\(responseKey)\"".utf8)
    // Members before and after, with the sign first or last.
    let bodies: [[UInt8]] = [
        Array("{\"sign\":\"".utf8) + sign + Array("\" , \n".utf8) + key + Array(" :\t".utf8) + value + Array("\r\n}".utf8),
        Array("{".utf8) + key + Array(":".utf8) + value + Array(",\"sign\":\"".utf8) + sign + Array("\"}".utf8),
    ]
    // Deep values no longer parse one level down: nothing to cut out then.
    for body in bodies where (try? JSON.parse(body)) != nil {
        guard let (content, _) = try? AlipayResponse.extract(body: body, key: responseKey) else {
            fatalError("property violated: no response member in \(shown(body))")
        }
        require(Array(content) == exact, "cut \(shown(content)) instead of \(shown(exact))")
        guard signed else { continue }
        let verified = try? AlipayResponse.verified(body: body, method: method, publicKey: alipayPublicKey)
        if case .object = parsed {
            require(verified == parsed, "a genuine answer was not returned as signed: \(shown(body))")
        } else {
            require(verified == nil, "a response member that is not an object was accepted: \(shown(body))")
        }
    }
    // The same value written with one more space (what a re-serialization would do): the
    // signature is over bytes, so it is refused.
    guard signed, case .object = parsed else { return }
    let respaced = Array("{ ".utf8) + exact.dropFirst()
    let changed = Array("{".utf8) + key + Array(":".utf8) + respaced + Array(",\"sign\":\"".utf8) + sign + Array("\"}".utf8)
    require(
        (try? AlipayResponse.verified(body: changed, method: method, publicKey: alipayPublicKey)) == nil,
        "a respaced member verified: \(shown(changed))")
}

func isJSONWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
