@testable import FastCGI
@testable import LuffyCore

// URLCoding (query strings, notification bodies, pay links) and the query a pagination link is
// built from: decoding inverts encoding byte for byte, form pairs survive a round trip, and a
// replaced query parameter is the only thing that changes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzURLForm(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)

    // encode is canonical (only RFC 3986 unreserved bytes and %XX) and decoding undoes it exactly.
    let encoded = URLCoding.encode(text)
    require(
        encoded.utf8.allSatisfy { isUnreserved($0) || $0 == UInt8(ascii: "%") || URLCoding.hexValue($0) != nil },
        "encode left a reserved byte: \(shown(encoded))")
    for plusIsSpace in [true, false] {
        let decoded = URLCoding.decode(encoded, plusIsSpace: plusIsSpace)
        require(sameBytes(decoded, text), "decode(encode(x)) != x: \(shown(text)) → \(shown(decoded))")
        // Decoding happens exactly once: encoding what was decoded gives the canonical text back.
        require(sameBytes(URLCoding.encode(decoded), encoded), "encode(decode(y)) != y for canonical \(shown(encoded))")
    }
    // Text with nothing to decode is its own decoding.
    if !text.utf8.contains(UInt8(ascii: "%")) && !text.utf8.contains(UInt8(ascii: "+")) {
        require(sameBytes(URLCoding.decode(text, plusIsSpace: true), text), "decode changed plain text \(shown(text))")
    }

    // Form pairs: one per non-empty `&` part, and encodeForm → decodeForm gives them back.
    let pairs = URLCoding.decodeForm(text)
    let parts = text.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true)
    require(pairs.count == parts.count, "\(pairs.count) pairs from \(parts.count) parts of \(shown(text))")
    let again = URLCoding.decodeForm(URLCoding.encodeForm(pairs))
    require(samePairs(again, pairs), "decodeForm(encodeForm(p)) != p for \(shown(text))")

    // A pagination link keeps every other parameter, in order, and holds the new value once.
    let request = Request(method: "GET", path: "/user/order", rawQuery: text)
    let link = request.url(replacingQuery: "page", with: "2")
    let prefix = "/user/order?"
    require(link.hasPrefix(prefix), "link \(shown(link)) lost its path")
    let linked = URLCoding.decodeForm(String(decoding: Array(link.utf8.dropFirst(prefix.utf8.count)), as: UTF8.self))
    let others = pairs.filter { !sameBytes($0.0, "page") }
    require(samePairs(linked.filter { !sameBytes($0.0, "page") }, others), "link \(shown(link)) changed other parameters")
    let pages = linked.filter { sameBytes($0.0, "page") }
    require(!pages.isEmpty && pages.allSatisfy { sameBytes($0.1, "2") }, "link \(shown(link)) does not set page=2")
    return 0
}

func isUnreserved(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
        return true
    default: return false
    }
}
