// Shared by every fuzz target (scripts/fuzz.sh compiles it into each one; README "Fuzzing").
import COpenSSL

@testable import Alipay

#if canImport(Glibc)
import Glibc
#endif

/// A property the target asserts: when it does not hold, say which and trap, so libFuzzer keeps
/// the input as a crash reproducer (a silent wrong answer would otherwise count as a pass).
func require(
    _ holds: @autoclosure () -> Bool, _ what: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !holds() { fatalError("property violated: \(what())", file: file, line: line) }
}

/// The input as libFuzzer hands it over.
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// CPU time of the calling thread: a parse's cost, whatever else the (shared) machine runs.
func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A fresh RSA-2048 key for this run, loaded through the project's own PEM loader, so targets can
/// sign what they then verify (the keys never leave the process: no key is committed).
func makeRSAKey() -> RSAPrivateKey {
    guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nil) else { fatalError("EVP_PKEY_CTX_new_id") }
    defer { EVP_PKEY_CTX_free(ctx) }
    var pkey: OpaquePointer?
    guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1,
        EVP_PKEY_keygen(ctx, &pkey) == 1, let pkey
    else { fatalError("RSA key generation failed") }
    defer { EVP_PKEY_free(pkey) }
    guard let bio = BIO_new(BIO_s_mem()) else { fatalError("BIO_new") }
    defer { BIO_free(bio) }
    guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else { fatalError("PEM_write_bio_PrivateKey") }
    var text: UnsafeMutablePointer<CChar>?
    let length = luffy_bio_get_mem_data(bio, &text)
    guard let text, length > 0 else { fatalError("BIO_get_mem_data") }
    let pem = String(decoding: UnsafeRawBufferPointer(start: text, count: Int(length)), as: UTF8.self)
    do { return try RSAPrivateKey(pem: pem, source: "fuzz key") } catch { fatalError("fuzz key: \(error)") }
}

/// Byte-wise equality: Swift's `==` on strings is canonical equivalence, which would hide a
/// change of normalisation (a different byte string on the wire, and under a signature).
func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

func samePairs(_ a: [(String, String)], _ b: [(String, String)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { sameBytes($0.0, $1.0) && sameBytes($0.1, $1.1) }
}

/// Shows bytes in a failure message (escaped, cut at 300 bytes).
func shown(_ bytes: some Collection<UInt8>) -> String {
    var out = ""
    for b in bytes.prefix(300) {
        if b >= 0x20 && b < 0x7F && b != 0x5C {
            out.append(Character(Unicode.Scalar(b)))
        } else {
            out += "\\x" + String(b, radix: 16)
        }
    }
    return bytes.count > 300 ? out + "… (\(bytes.count) bytes)" : out
}

func shown(_ text: String) -> String { shown(Array(text.utf8)) }

/// RSA-2048 signing costs about half a millisecond, hundreds of times what the checks around it
/// cost: targets run their signature round trips on one input in 8 (chosen by content, so a
/// reproducer replays the same way) and every other property on every input.
func signsThisOne(_ input: [UInt8]) -> Bool {
    var hash: UInt32 = 2_166_136_261
    for b in input { hash = (hash ^ UInt32(b)) &* 16_777_619 }
    return hash % 8 == 0
}

/// For targets' `LLVMFuzzerInitialize`: work done there (making a key) is not counted against
/// the first input's time limit.
public typealias FuzzerArguments = UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
