import Foundation
public import LuffyCore

/// `LUFFY_MEDIA_URL`, the root URL of the shop's uploaded images, and the one way a stored image
/// name leaves the service (README, "Configuration"): `ly_course.course_cover` holds a name under
/// that root (`course/cover/6.png`), and the shop's front end puts what it gets straight into
/// `<img src>`, so every answer carries the absolute URL.
public struct MediaURL: Sendable, Equatable {
    /// Absolute http(s), scheme and host in lower case, ending with `/`.
    public let base: String

    /// The default of the dev machine: the dev stack's nginx serves its placeholder covers there.
    public static let localDefault = MediaURL(base: "http://127.0.0.1:8080/media/")

    private init(base: String) { self.base = base }

    /// `text` (blanks around it ignored) as the media root; anything but an absolute http(s) URL
    /// with a host, and without a query, fragment or user, is a `ConfigError` naming `key`.
    public init(parsing text: String, key: String) throws {
        let invalid = ConfigError.invalid(
            key: key, value: text,
            expected: "an absolute http(s) URL of the media root (scheme://host[:port]/path/, no query, fragment or user), "
                + "e.g. https://www.luffycity.cn/media/")
        let trimmed = String(text.trimmingWhitespace())
        // Only RFC 3986's characters, with well-formed escapes: URLComponents would percent-encode
        // the others (blanks, quotes, `<`) silently, and a setting that needs that is a typo.
        guard MediaURL.isURIText(trimmed), let parts = URLComponents(string: trimmed),
            let scheme = parts.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = parts.percentEncodedHost, !host.isEmpty, parts.percentEncodedUser == nil,
            parts.percentEncodedPassword == nil, parts.percentEncodedQuery == nil, parts.percentEncodedFragment == nil,
            parts.port.map({ (1...65535).contains($0) }) ?? true
        else { throw invalid }
        var path = parts.percentEncodedPath
        if !path.hasSuffix("/") { path += "/" }
        let port = parts.port.map { ":\($0)" } ?? ""
        base = "\(scheme)://\(host.lowercased())\(port)\(path)"
    }

    /// Unreserved and reserved characters of RFC 3986, and `%` followed by two hex digits.
    private static func isURIText(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=".utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, URLCoding.hexValue(bytes[i + 1]) != nil, URLCoding.hexValue(bytes[i + 2]) != nil
                else { return false }
                i += 3
            } else {
                guard allowed.contains(bytes[i]) else { return false }
                i += 1
            }
        }
        return true
    }

    /// The absolute URL of a stored image name: one that already is an http(s) URL stays as it is;
    /// otherwise the base plus the name's segments, each percent-encoded but for RFC 3986's
    /// unreserved characters. Empty, `.` and `..` segments are dropped (a browser would resolve
    /// `..` above the base; Django's storage never writes them), and a name of nothing else, like
    /// an empty one, stays empty: no image.
    public func url(for stored: String) -> String {
        if stored.isEmpty { return "" }
        let scheme = stored.utf8.prefix(8).map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        if scheme.starts(with: "http://".utf8) || scheme.starts(with: "https://".utf8) { return stored }
        let segments = stored.split(ascii: "/").filter { $0 != "." && $0 != ".." }
        if segments.isEmpty { return "" }
        return base + segments.map { URLCoding.encode(String($0)) }.joined(separator: "/")
    }

    /// `url(for:)` as an answer's field: a NULL column stays `null`.
    public func json(_ stored: String?) -> JSON {
        stored.map { .string(url(for: $0)) } ?? .null
    }
}
