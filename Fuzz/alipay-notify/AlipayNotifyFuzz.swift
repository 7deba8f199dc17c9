@testable import Alipay
@testable import LuffyCore

// A notification or sync-return body as the app decodes it (URLCoding.decodeForm), Alipay's
// verification string built from it, and AlipayParameters.verify: the string holds exactly the
// parameters that were decoded (sign/sign_type and empty values left out), and the verifier
// accepts exactly what was signed, so no value the app reads escaped the signature.

let alipayKey = makeRSAKey()
let alipayPublicKey = alipayKey.publicKey

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzerArguments) -> CInt {
    _ = alipayPublicKey  // the key is made here, before the first input's clock starts
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAlipayNotify(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let params = URLCoding.decodeForm(String(decoding: input, as: UTF8.self))

    // The verification string is the signed parameters, sorted by bytes, and nothing else.
    let signedParams = params.filter { !sameBytes($0.0, "sign") && !sameBytes($0.0, "sign_type") && !$0.1.isEmpty }
    let text = AlipayParameters.verificationString(params)
    let expected = verificationBytes(signedParams)
    require(Array(text.utf8) == expected, "verification string \(shown(text)) is not \(shown(expected))")
    require(sameBytes(AlipayParameters.verificationString(params.reversed()), text), "verification string depends on order")

    // Nobody but the key's holder signs: whatever the body holds, it does not verify.
    require(!AlipayParameters.verify(params: params, publicKey: alipayPublicKey), "a forged body verified")

    // Signed as Alipay signs, sent URL-encoded, decoded by the app: the app reads the very pairs
    // that were signed, and they verify.
    let unsigned = params.filter { !sameBytes($0.0, "sign") && !sameBytes($0.0, "sign_type") }
    var keys = Set<String>()
    guard unsigned.allSatisfy({ keys.insert($0.0).inserted }) else { return 0 }  // refused as ambiguous
    let signed = signsThisOne(input)
    let signature: [UInt8]
    do { signature = signed ? try alipayKey.sign(Array(AlipayParameters.verificationString(unsigned).utf8)) : [0x73] } catch {
        fatalError("signing failed: \(error)")
    }
    let sent = unsigned + [("sign_type", AlipayParameters.signType), ("sign", Base64.encode(signature))]
    let received = URLCoding.decodeForm(URLCoding.encodeForm(sent))
    require(samePairs(received, sent), "the form round trip changed the pairs of \(shown(URLCoding.encodeForm(sent)))")
    require(
        sameBytes(AlipayParameters.verificationString(received), AlipayParameters.verificationString(unsigned)),
        "the form round trip changed the verification string")
    guard signed else { return 0 }
    require(AlipayParameters.verify(params: received, publicKey: alipayPublicKey), "a genuine body did not verify")

    // Any signed value changed, or a parameter added, and it no longer verifies.
    if let index = received.firstIndex(where: { !$0.1.isEmpty && !sameBytes($0.0, "sign") && !sameBytes($0.0, "sign_type") }) {
        var tampered = received
        tampered[index].1 += "0"
        require(
            !AlipayParameters.verify(params: tampered, publicKey: alipayPublicKey),
            "verified with \(shown(tampered[index].0)) changed")
    }
    if !keys.contains("zz_added") {
        require(
            !AlipayParameters.verify(params: received + [("zz_added", "1")], publicKey: alipayPublicKey),
            "verified with a parameter added")
    }
    return 0
}

/// Alipay's verification string written independently: pairs sorted by key bytes, then value
/// bytes, `k=v` joined by `&`.
func verificationBytes(_ pairs: [(String, String)]) -> [UInt8] {
    let sorted = pairs.map { (Array($0.0.utf8), Array($0.1.utf8)) }.sorted { a, b in
        a.0 == b.0 ? a.1.lexicographicallyPrecedes(b.1) : a.0.lexicographicallyPrecedes(b.0)
    }
    var out: [UInt8] = []
    for (i, (key, value)) in sorted.enumerated() {
        if i > 0 { out.append(UInt8(ascii: "&")) }
        out += key + [UInt8(ascii: "=")] + value
    }
    return out
}
