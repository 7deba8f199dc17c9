import LuffyCore
import Testing

@testable import LuffyPay

/// `LUFFY_MEDIA_URL` and the absolute cover URLs built from it (README, "Configuration").
@Suite struct MediaURLTests {
    static let media = parsed("https://media.luffycity.test/media/")

    static func parsed(_ text: String) -> MediaURL {
        do { return try MediaURL(parsing: text, key: "LUFFY_MEDIA_URL") } catch { fatalError("\(error)") }
    }

    @Test func aStoredNameIsAppendedToTheBase() {
        #expect(Self.media.url(for: "course/cover/6.png") == "https://media.luffycity.test/media/course/cover/6.png")
        let noSlash = Self.parsed("http://127.0.0.1:18080/media")
        #expect(noSlash.base == "http://127.0.0.1:18080/media/")
        #expect(noSlash.url(for: "course/cover/6.png") == "http://127.0.0.1:18080/media/course/cover/6.png")
        // The host alone: its root.
        #expect(Self.parsed("https://cdn.example").url(for: "a.png") == "https://cdn.example/a.png")
    }

    @Test func slashesAroundAndBetweenSegmentsCollapse() {
        for stored in ["/course/cover/6.png", "course//cover/6.png", "//course/cover/6.png", "course/cover/6.png/"] {
            #expect(Self.media.url(for: stored) == "https://media.luffycity.test/media/course/cover/6.png", "\(stored)")
        }
    }

    @Test func anAbsoluteStoredNameStaysAsItIs() {
        for stored in [
            "https://img.example/cover 1.png", "http://img.example/c.png?x=1", "HTTPS://IMG.example/C.PNG",
        ] {
            #expect(Self.media.url(for: stored) == stored)
        }
        // Other schemes and protocol-relative names are names under the base, never links elsewhere.
        #expect(Self.media.url(for: "//evil.example/x.png") == "https://media.luffycity.test/media/evil.example/x.png")
        #expect(Self.media.url(for: "javascript:alert(1)") == "https://media.luffycity.test/media/javascript%3Aalert%281%29")
        #expect(Self.media.url(for: "ftp://files/x.png") == "https://media.luffycity.test/media/ftp%3A/files/x.png")
    }

    @Test func emptyStaysEmptyAndNullStaysNull() {
        #expect(Self.media.url(for: "") == "")
        // A name of nothing but separators and dot segments names no file either.
        #expect(Self.media.url(for: "/") == "" && Self.media.url(for: "../..") == "")
        #expect(Self.media.json(nil) == .null)
        #expect(Self.media.json("") == .string(""))
        #expect(Self.media.json("course/cover/1.png") == .string("https://media.luffycity.test/media/course/cover/1.png"))
    }

    @Test func unsafeCharactersArePercentEncoded() {
        let cases: [(String, String)] = [
            ("course/cover/my cover.png", "course/cover/my%20cover.png"),
            (#"course/"quoted"'s.png"#, "course/%22quoted%22%27s.png"),
            ("course/封面.png", "course/%E5%B0%81%E9%9D%A2.png"),
            ("a?b#c&d=e%20.png", "a%3Fb%23c%26d%3De%2520.png"),
            (#"a\..\b<script>.png"#, "a%5C..%5Cb%3Cscript%3E.png"),
            ("line\nbreak\u{0}.png", "line%0Abreak%00.png"),
            ("course/cover/a-b_c~d.e.png", "course/cover/a-b_c~d.e.png"),
        ]
        for (stored, path) in cases {
            #expect(Self.media.url(for: stored) == "https://media.luffycity.test/media/" + path, "\(stored)")
        }
    }

    @Test func dotSegmentsNeverLeaveTheBase() {
        // A browser resolves `..` (and `%2E%2E`) against the base: such segments are dropped, not encoded.
        for (stored, path) in [
            ("../../etc/passwd", "etc/passwd"), ("course/../../etc/passwd", "course/etc/passwd"),
            ("./../etc/./passwd", "etc/passwd"), ("%2E%2E/x.png", "%252E%252E/x.png"),
        ] {
            #expect(Self.media.url(for: stored) == "https://media.luffycity.test/media/" + path, "\(stored)")
        }
        #expect(Self.media.url(for: "course/../cover/6.png") == "https://media.luffycity.test/media/course/cover/6.png")
        #expect(Self.media.url(for: "...png") == "https://media.luffycity.test/media/...png")
    }

    @Test func theSettingIsAnAbsoluteHTTPURL() throws {
        #expect(try Settings(values: [:]).mediaURL.base == "http://127.0.0.1:8080/media/")
        let set = try Settings(values: ["LUFFY_MEDIA_URL": "  HTTPS://Media.Example:8443/shop/media  "])
        #expect(set.mediaURL.base == "https://media.example:8443/shop/media/")
        #expect(try Settings(values: ["LUFFY_MEDIA_URL": "http://[::1]:8080/m/"]).mediaURL.base == "http://[::1]:8080/m/")
        #expect(try Settings(values: ["LUFFY_MEDIA_URL": "http://h/%E5%AA%92/"]).mediaURL.base == "http://h/%E5%AA%92/")
        for bad in [
            "media/", "/media/", "ftp://files.example/", "http://", "http:///media/", "https://a b.example/",
            "https://media.example/?x=1", "https://media.example/#top", "https://user:pw@media.example/",
            "http://media.example:99999/", "http://media.example:0/", "https://media.example/a\"b/", "https://media.example/a b/",
            "//media.example/", "https://media.example/<x>/", "javascript:alert(1)",
        ] {
            #expect(throws: ConfigError.self, "\(bad)") { try Settings(values: ["LUFFY_MEDIA_URL": bad]) }
        }
        do {
            _ = try Settings(values: ["LUFFY_MEDIA_URL": "ftp://files.example/"])
        } catch {
            #expect(
                "\(error)"
                    == "LUFFY_MEDIA_URL=ftp://files.example/ is not valid: expected an absolute http(s) URL of the media "
                    + "root (scheme://host[:port]/path/, no query, fragment or user), e.g. https://www.luffycity.cn/media/")
        }
    }
}
