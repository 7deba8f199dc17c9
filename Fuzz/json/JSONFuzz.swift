@testable import LuffyCore

// JSON.parse (every request body, every gateway answer): parse → serialize → parse is stable,
// a refusal is an error (never a trap), and parsing stays linear in the input size.

/// Inputs at least this long are timed; below it fixed costs dominate the per-byte figure.
let timedMinimum = 16 * 1024
/// CPU nanoseconds per input byte that a linear parse stays far below (about 0.1–0.3 µs/byte
/// here with ASan). The quadratic duplicate-key check of issue 7 spent over 5 µs/byte on the
/// 96 KB object in Fuzz/corpus/json/quadratic-keys.json.
let nanosecondsPerByteLimit: UInt64 = 3_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let started = threadCPUNanoseconds()
    let result = Result { try JSON.parse(input) }
    let spent = threadCPUNanoseconds() - started
    if input.count >= timedMinimum {
        require(
            spent / UInt64(input.count) <= nanosecondsPerByteLimit,
            "parsing \(input.count) bytes took \(spent / 1_000_000) ms of CPU (\(spent / UInt64(input.count)) ns/byte)")
    }
    guard case let .success(value) = result else { return 0 }
    let text = value.serialized
    let again: JSON
    do { again = try JSON.parse(text) } catch {
        fatalError("property violated: the serialization of a parsed value does not parse (\(error)): \(shown(text))")
    }
    require(again == value, "parse → serialize → parse changed the value: \(shown(text))")
    // Byte for byte too: `==` on strings is canonical equivalence and would hide a changed byte.
    let textAgain = again.serialized
    require(textAgain == text, "serialize is not stable: \(shown(text)) then \(shown(textAgain))")
    return 0
}
