import Alipay
import Foundation
import LuffyCeiling
import LuffyCore
import LuffyPay

/// `luffy-pay-ceiling [ENDPOINT…] [--connections N] [--seconds S] [--pool N] [--settle S]`: wiring only, the
/// work is in LuffyCeiling (README, "The database's ceiling").
let usage = """
    usage: luffy-pay-ceiling [ENDPOINT…] [--connections N] [--seconds S] [--pool N] [--settle S]
      ENDPOINT     \(Ceiling.endpoints.joined(separator: " | ")) (default: all)
      --connections  threads, each with its own connection (default LUFFY_THREADS, the app's)
      --seconds    how long each endpoint runs (default 10)
      --pool       items made for the endpoints that use one up per request (default 100000)
      --settle     before each endpoint, wait at most this long for the cores to be 80 % idle
                   (what came before still purging and flushing; default 30)
    settings: as luffy-pay's (LUFFY_CONFIG); run it against an idle stack: it writes bench rows of
    users 3000000-3999999 and removes them, and puts ly_course.students back
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("luffy-pay-ceiling: \(message)\n".utf8))
    exit(1)
}

var endpoints: [String] = []
var connections: Int?
var seconds = 10.0
var pool = 100_000
var settle = 30.0
var words = Array(CommandLine.arguments.dropFirst())[...]
while let word = words.popFirst() {
    func value() -> String {
        guard let next = words.popFirst() else { fail("\(word) needs a value\n\(usage)") }
        return next
    }
    func positive<T: Numeric & Comparable>(_ parsed: T?) -> T {
        guard let parsed, parsed > 0 else { fail("\(word): a positive number") }
        return parsed
    }
    switch word {
    case "--connections": connections = positive(Int(value()))
    case "--seconds": seconds = positive(Double(value()))
    case "--pool": pool = positive(Int(value()))
    case "--settle": settle = positive(Double(value()))
    case "-h", "--help": print(usage); exit(0)
    default:
        guard Ceiling.endpoints.contains(word) else { fail("unknown endpoint \(word)\n\(usage)") }
        endpoints.append(word)
    }
}

do {
    let settings = try Settings.load()
    let gateway = try AlipayGateway(settings: settings)
    for endpoint in endpoints.isEmpty ? Ceiling.endpoints : endpoints {
        let r = try Ceiling.run(
            endpoint: endpoint, connections: connections ?? settings.threads, seconds: seconds, pool: pool,
            settle: .milliseconds(Int64(settle * 1000)), settings: settings, gateway: gateway)
        // One line per endpoint, `key=value`: scripts/bench.sh reads it.
        print(
            "ceiling endpoint=\(r.endpoint) per_second=\(String(format: "%.0f", r.perSecond)) requests=\(r.requests)"
                + " seconds=\(String(format: "%.1f", r.seconds)) connections=\(r.connections) statements=\(r.statements)"
                + " p50_ms=\(String(format: "%.2f", r.p50.milliseconds)) p99_ms=\(String(format: "%.2f", r.p99.milliseconds))"
                + " settled_s=\(String(format: "%.1f", r.settled.milliseconds / 1000))")
    }
} catch {
    fail("\(error)")
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
