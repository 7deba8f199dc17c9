/// The pieces of the Prometheus text exposition format 0.0.4 (README "Metrics").
enum PrometheusText {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`: every other byte becomes `_`, and a leading digit gets a `_` in
    /// front. Label names are the same without `:`.
    static func name(_ raw: String, colons: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.utf8.count + 1)
        for byte in raw.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                out.append(byte)
            case UInt8(ascii: ":") where colons: out.append(byte)
            default: out.append(UInt8(ascii: "_"))
            }
        }
        if out.isEmpty || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(out[0]) {
            out.insert(UInt8(ascii: "_"), at: 0)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A label value: backslash, double quote and newline escaped; everything else as it is.
    static func labelValue(_ raw: String) -> String {
        escape(raw, quote: true)
    }

    /// A `# HELP` text: backslash and newline escaped.
    static func help(_ raw: String) -> String {
        escape(raw, quote: false)
    }

    private static func escape(_ raw: String, quote: Bool) -> String {
        guard raw.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || (quote && $0 == 0x22) }) else { return raw }
        var out: [UInt8] = []
        for byte in raw.utf8 {
            switch byte {
            case 0x5C: out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x22 where quote: out.append(contentsOf: #"\""#.utf8)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name="value",…` sorted by label name, the last of a repeated name winning: the key of a
    /// series, and its text inside `{}`.
    static func labels(_ dimensions: [(String, String)]) -> String {
        var byName: [String: String] = [:]
        for (name, value) in dimensions { byName[self.name(name, colons: false)] = value }
        return byName.sorted { $0.key < $1.key }
            .map { "\($0.key)=\"\(labelValue($0.value))\"" }
            .joined(separator: ",")
    }

    /// A sample value or bucket bound as the format spells it (`+Inf`, `-Inf`, `NaN`).
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return value.description
    }
}
