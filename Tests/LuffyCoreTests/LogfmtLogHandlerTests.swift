import Foundation
import Logging
import Testing

@testable import LuffyCore

/// swift-log's, not the core module's older `Logger` while both exist.
typealias Logger = Logging.Logger

@Suite struct LogfmtLogHandlerTests {
    func logger(_ sink: InMemoryLogSink, level: Logger.Level = .trace) -> Logger {
        Logger(label: "test") { _ in LogfmtLogHandler(sink: sink, level: level) }
    }

    /// The fields after `time=…`: the timestamp is checked once, apart.
    func body(_ line: String) -> Substring {
        line.drop { $0 != " " }.dropFirst()
    }

    @Test func todaysRequestLine() throws {
        let sink = InMemoryLogSink()
        var log = logger(sink)
        log[metadataKey: "request_id"] = "r-1"
        log.info(
            "request",
            metadata: [
                "status": "200", "queries": "3", "path": "/x", "duration_ms": "1.23", "method": "GET",
            ])
        let line = try #require(sink.written.first)
        #expect(body(line) == "level=info msg=request request_id=r-1 method=GET path=/x status=200 duration_ms=1.23 queries=3\n")
        let time = String(line.prefix { $0 != " " })
        #expect(time.wholeMatch(of: /time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    }

    @Test func everyControlByteIsEscaped() throws {
        let sink = InMemoryLogSink()
        let log = logger(sink)
        for byte in Array(UInt8(0)...0x1F) + [0x7F] {
            let value = String(decoding: [UInt8(ascii: "a"), byte, UInt8(ascii: "b")], as: UTF8.self)
            log.info("m", metadata: ["v": .string(value)])
            log.info("\(value)")
        }
        let lines = sink.written
        #expect(lines.count == 66)
        for (index, line) in lines.enumerated() {
            let bytes = Array(line.utf8)
            #expect(bytes.last == 0x0A)
            #expect(!bytes.dropLast().contains { $0 < 0x20 || $0 == 0x7F }, "line \(index): \(line)")
        }
        #expect(body(lines[0]) == #"level=info msg=m v="a\u0000b""# + "\n")
        #expect(body(lines[1]) == #"level=info msg="a\u0000b""# + "\n")
        #expect(body(lines[2 * 0x0A]).hasSuffix(#" v="a\nb""# + "\n"))
        #expect(body(lines[2 * 0x0D]).hasSuffix(#" v="a\rb""# + "\n"))
        #expect(body(lines[2 * 0x09]).hasSuffix(#" v="a\tb""# + "\n"))
        #expect(body(lines[2 * 0x1F]).hasSuffix(#" v="a\u001fb""# + "\n"))
        #expect(body(lines[64]).hasSuffix(#" v="a\u007fb""# + "\n"))
    }

    @Test func crlfIsTwoEscapesNotANewLine() throws {
        let sink = InMemoryLogSink()
        logger(sink).info("m", metadata: ["v": "x\r\nlevel=error msg=forged"])
        #expect(sink.written.count == 1)
        #expect(body(sink.written[0]) == #"level=info msg=m v="x\r\nlevel=error msg=forged""# + "\n")
    }

    @Test func valuesThatBreakATokenAreQuoted() {
        let sink = InMemoryLogSink()
        let log = logger(sink)
        log.info(
            "m",
            metadata: [
                "a": "x=y", "b": "two words", "c": #"say "hi""#, "d": #"back\slash"#, "e": "", "f": "plain-token_1.5",
                "g": "课程",
            ])
        #expect(
            body(sink.written[0])
                == #"level=info msg=m a="x=y" b="two words" c="say \"hi\"" d="back\\slash" e="" f=plain-token_1.5 g=课程"# + "\n")
    }

    @Test func aForgedFieldStaysInsideItsValue() {
        let sink = InMemoryLogSink()
        logger(sink).warning("m", metadata: ["path": "/x level=error status=500"])
        #expect(body(sink.written[0]) == #"level=warning msg=m path="/x level=error status=500""# + "\n")
    }

    @Test func keysCannotForgeFields() {
        let sink = InMemoryLogSink()
        logger(sink).info("m", metadata: ["a b=c\n": "1", "": "2"])
        #expect(body(sink.written[0]) == "level=info msg=m _=2 a_b_c_=1\n")
    }

    @Test func levelsFilterAndPrintTheirNames() {
        let sink = InMemoryLogSink()
        let atWarning = logger(sink, level: .warning)
        atWarning.trace("t")
        atWarning.debug("d")
        atWarning.info("i")
        atWarning.notice("n")
        atWarning.warning("w")
        atWarning.error("e")
        atWarning.critical("c")
        #expect(
            sink.written.map { String(body($0)) } == [
                "level=warning msg=w\n", "level=error msg=e\n", "level=critical msg=c\n",
            ])
        sink.clear()
        let all = logger(sink, level: .trace)
        all.trace("t")
        all.debug("d")
        all.info("i")
        all.notice("n")
        #expect(
            sink.written.map { String(body($0)) } == [
                "level=trace msg=t\n", "level=debug msg=d\n", "level=info msg=i\n", "level=notice msg=n\n",
            ])
    }

    @Test func autoclosureMessageIsNotBuiltBelowTheLevel() {
        let sink = InMemoryLogSink()
        var built = false
        func expensive() -> Logger.Message {
            built = true
            return "x"
        }
        logger(sink, level: .info).debug(expensive())
        #expect(!built)
        #expect(sink.written.isEmpty)
    }

    @Test func metadataOrderIsDeterministicAndLaterSourcesWin() {
        let sink = InMemoryLogSink()
        let provider = Logger.MetadataProvider { ["zeta": "p", "shared": "provider", "request_id": "r-9"] }
        var log = Logger(label: "t") { _ in LogfmtLogHandler(sink: sink, level: .info, metadataProvider: provider) }
        log[metadataKey: "shared"] = "logger"
        log[metadataKey: "beta"] = "1"
        for _ in 0..<20 {
            log.info("m", metadata: ["alpha": "2", "status": "201", "Zed": "3", "_u": "4"])
        }
        log.info("m", metadata: ["shared": "call"])
        let expected = "level=info msg=m request_id=r-9 status=201 Zed=3 _u=4 alpha=2 beta=1 shared=logger zeta=p\n"
        #expect(Set(sink.written.prefix(20).map { String(body($0)) }) == [expected])
        #expect(body(sink.written[20]) == "level=info msg=m request_id=r-9 beta=1 shared=call zeta=p\n")
    }

    @Test func nestedMetadataIsCompactJSON() {
        let sink = InMemoryLogSink()
        logger(sink).info(
            "m",
            metadata: [
                "ids": [.stringConvertible(1), "3"],
                "user": ["name": "a b", "id": "7"],
                "n": .stringConvertible(42),
            ])
        #expect(
            body(sink.written[0]) == #"level=info msg=m ids="[\"1\",\"3\"]" n=42 user="{\"id\":\"7\",\"name\":\"a b\"}""# + "\n")
    }

    @Test func anErrorBecomesAField() {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused: pool" } }
        let sink = InMemoryLogSink()
        let handler = LogfmtLogHandler(sink: sink)
        handler.log(
            event: LogEvent(
                level: .error, message: "m", error: Refused(), metadata: nil,
                source: nil, file: #fileID, function: #function, line: #line))
        #expect(body(sink.written[0]) == #"level=error msg=m error="refused: pool""# + "\n")
    }
}

@Suite struct LogSinkTests {
    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("luffy-logsink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func reopenAfterRotationWritesToTheNewFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("luffy.log").path
        let sink = try LogSink(path: path)
        let log = Logger(label: "t") { _ in LogfmtLogHandler(sink: sink) }
        let fd = sink.fileDescriptor
        log.info("before")
        // What logrotate does before it sends SIGHUP.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        log.info("between")
        try sink.reopen()
        #expect(sink.fileDescriptor == fd)
        log.info("after")
        let old = try String(contentsOfFile: path + ".1", encoding: .utf8)
        let new = try String(contentsOfFile: path, encoding: .utf8)
        #expect(old.split(separator: "\n").map { $0.hasSuffix("msg=before") || $0.hasSuffix("msg=between") } == [true, true])
        #expect(new.split(separator: "\n").count == 1)
        #expect(new.hasSuffix("level=info msg=after\n"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o077 & ~0o040 } == 0)
    }

    @Test func failuresCarryErrnoAndPath() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("no/such/dir/luffy.log").path
        #expect(throws: LogSinkError(operation: .open, path: missing, errno: ENOENT)) { try LogSink(path: missing) }

        let path = dir.appendingPathComponent("luffy.log").path
        let sink = try LogSink(path: path)
        try FileManager.default.removeItem(at: dir)
        #expect(throws: LogSinkError(operation: .open, path: path, errno: ENOENT)) { try sink.reopen() }
        let error = LogSinkError(operation: .open, path: path, errno: ENOENT)
        #expect(error.description == "open \(path): No such file or directory (errno 2)")
    }

    @Test func manyThreadsNeverInterleaveLines() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("luffy.log").path
        let sink = try LogSink(path: path)
        let log = Logger(label: "t") { _ in LogfmtLogHandler(sink: sink) }
        let padding = String(repeating: "x", count: 300)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<500 {
                if thread == 0, i == 250 { try? sink.reopen() }
                log.info("m", metadata: ["thread": "\(thread)", "i": "\(i)", "pad": "\(padding)"])
            }
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4000)
        #expect(lines.allSatisfy { $0.contains(" level=info msg=m i=") && $0.contains(" pad=\(padding) thread=") })
    }
}
