public import Foundation
public import Logging

/// `LUFFY_*` settings as read from the `LUFFY_CONFIG` file and the environment, with the typed
/// reads every settings struct of the project uses (the app's and the sandbox's).
public struct SettingValues: Sendable {
    /// Raw values: secrets are taken from here exactly as given.
    public let values: [String: String]

    public init(_ values: [String: String]) { self.values = values }

    /// The file named by `LUFFY_CONFIG` (if set), then the environment, which wins so that
    /// systemd drop-ins can override the file.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SettingValues {
        var values: [String: String] = [:]
        if let path = environment["LUFFY_CONFIG"], !path.isEmpty {
            values = try SettingValues.parseFile(at: path)
        }
        for (key, value) in environment where key.hasPrefix("LUFFY_") { values[key] = value }
        return SettingValues(values)
    }

    /// The value without surrounding blanks; empty counts as unset.
    public func text(_ key: String) -> String? {
        guard let v = values[key]?.trimmingWhitespace(), !v.isEmpty else { return nil }
        return v
    }

    /// An IANA zone name (`Asia/Shanghai`).
    public func timeZone(_ key: String) throws -> TimeZone? {
        guard let raw = text(key) else { return nil }
        guard let zone = TimeZone(identifier: raw) else {
            throw ConfigError.invalid(key: key, value: raw, expected: "an IANA zone name")
        }
        return zone
    }

    /// `debug`, `info`, `warning` (or `warn`), `error`, and swift-log's other levels `trace`,
    /// `notice` and `critical` (README, "Logs").
    public func logLevel(_ key: String) throws -> Logger.Level? {
        guard let raw = text(key) else { return nil }
        let name = raw.lowercased()
        guard let level = name == "warn" ? .warning : Logger.Level(rawValue: name) else {
            throw ConfigError.invalid(key: key, value: raw, expected: "trace, debug, info, notice, warning, error or critical")
        }
        return level
    }

    public func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let raw = text(key) else { return nil }
        guard let v = Int(raw), range.contains(v) else {
            throw ConfigError.invalid(key: key, value: raw, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    public static func parseFile(at path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError.unreadable(path: path)
        }
        return parse(text)
    }

    /// `KEY=VALUE` lines; `#` comments, blank lines, optional `export ` and surrounding quotes.
    public static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for rawLine in text.split(ascii: "\n") {
            var line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)[...]
            if line.isEmpty || line.dropping(asciiPrefix: "#") != nil { continue }
            if let rest = line.dropping(asciiPrefix: "export ") { line = rest }
            guard case let (name, value?) = line.cut(atFirstASCII: "=") else { continue }
            let key = name.trimmingCharacters(in: .whitespaces)
            var setting = value.trimmingCharacters(in: .whitespaces)
            let bytes = setting.utf8
            if bytes.count >= 2, let first = bytes.first, first == UInt8(ascii: "\"") || first == UInt8(ascii: "'"),
                bytes.last == first
            {
                setting = String(setting[bytes.index(after: bytes.startIndex)..<bytes.index(before: bytes.endIndex)])
            }
            values[key] = setting
        }
        return values
    }

}

public enum ConfigError: Error, CustomStringConvertible {
    case invalid(key: String, value: String, expected: String)
    case unreadable(path: String)

    public var description: String {
        switch self {
        case let .invalid(key, value, expected): return "\(key)=\(value) is not valid: expected \(expected)"
        case let .unreadable(path): return "cannot read the config file \(path)"
        }
    }
}
