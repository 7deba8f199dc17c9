import CIconv

#if canImport(Glibc)
import Glibc
#endif

/// GBK text through glibc's iconv. Decoding uses GB18030, a superset of GBK (every GBK file reads
/// the same), so that a bill with a rare character still reads; encoding writes GBK as Alipay does.
public enum GBK {
    public static func decode(_ bytes: [UInt8]) throws(BillError) -> String {
        // Straight into the string's storage (a day's bill is tens of MB: no second copy).
        // GB18030 to UTF-8 at most doubles the size (2 bytes become 3, 4 stay 4).
        var valid = true
        let text = String(unsafeUninitializedCapacity: bytes.count * 2 + 4) { buffer in
            guard let written = convert(bytes, from: "GB18030", to: "UTF-8", into: UnsafeMutableRawBufferPointer(buffer))
            else {
                valid = false
                return 0
            }
            return written
        }
        guard valid else { throw .notGBK }
        return text
    }

    /// Throws `.notGBK` for a character GBK cannot write.
    public static func encode(_ text: String) throws(BillError) -> [UInt8] {
        // UTF-8 to GBK never grows: 1 byte stays 1, 2 or 3 become 2.
        var output = [UInt8](repeating: 0, count: text.utf8.count)
        let written = output.withUnsafeMutableBytes { convert(Array(text.utf8), from: "UTF-8", to: "GBK", into: $0) }
        guard let written else { throw .notGBK }
        output.removeLast(output.count - written)
        return output
    }

    /// The whole input in one call, into `output` (large enough); the bytes written, or nil when
    /// iconv stops at a byte sequence it cannot convert (EILSEQ) or at an incomplete one at the
    /// end (EINVAL): either way the text is not GBK.
    private static func convert(_ input: [UInt8], from: String, to: String, into output: UnsafeMutableRawBufferPointer)
        -> Int?
    {
        guard !input.isEmpty else { return 0 }
        let descriptor = iconv_open(to, from)
        guard let descriptor, descriptor != iconv_t(bitPattern: -1) else {
            fatalError("iconv cannot convert \(from) to \(to): glibc's gconv modules are missing")
        }
        defer { iconv_close(descriptor) }
        return input.withUnsafeBytes { inBytes in
            var inPointer = UnsafeMutablePointer(mutating: inBytes.baseAddress?.assumingMemoryBound(to: CChar.self))
            var inLeft = inBytes.count
            var outPointer = output.baseAddress?.assumingMemoryBound(to: CChar.self)
            var outLeft = output.count
            guard iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft) != -1 else { return nil }
            return output.count - outLeft
        }
    }
}
