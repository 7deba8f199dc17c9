import CIconv

#if canImport(Glibc)
import Glibc
#endif

/// GBK text through glibc's iconv. Decoding uses GB18030, a superset of GBK (every GBK file reads
/// the same), so that a bill with a rare character still reads; encoding writes GBK as Alipay does.
public enum GBK {
    public static func decode(_ bytes: [UInt8]) throws(BillError) -> String {
        // GB18030 to UTF-8 at most doubles the size (2 bytes become 3, 4 stay 4).
        let utf8 = try convert(bytes, from: "GB18030", to: "UTF-8", capacity: bytes.count * 2 + 4)
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Throws `.notGBK` for a character GBK cannot write.
    public static func encode(_ text: String) throws(BillError) -> [UInt8] {
        try convert(Array(text.utf8), from: "UTF-8", to: "GBK", capacity: text.utf8.count + 4)
    }

    /// The whole input in one call: iconv stops at the first byte sequence it cannot convert
    /// (EILSEQ) or at an incomplete one at the end (EINVAL); both make the text not GBK.
    private static func convert(_ input: [UInt8], from: String, to: String, capacity: Int) throws(BillError) -> [UInt8] {
        let descriptor = iconv_open(to, from)
        guard let descriptor, descriptor != iconv_t(bitPattern: -1) else {
            fatalError("iconv cannot convert \(from) to \(to): glibc's gconv modules are missing")
        }
        defer { iconv_close(descriptor) }
        var output = [UInt8](repeating: 0, count: capacity)
        let written: Int? = input.withUnsafeBytes { inBytes in
            output.withUnsafeMutableBytes { outBytes in
                var inPointer = UnsafeMutablePointer(mutating: inBytes.baseAddress?.assumingMemoryBound(to: CChar.self))
                var inLeft = inBytes.count
                var outPointer = outBytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                var outLeft = outBytes.count
                if inLeft > 0, iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft) == -1 { return nil }
                return outBytes.count - outLeft
            }
        }
        guard let written else { throw .notGBK }
        output.removeLast(output.count - written)
        return output
    }
}
