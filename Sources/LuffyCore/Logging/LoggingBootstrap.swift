public import Logging

extension LogfmtLogHandler {
    /// The process's logging (README, "Logs"): every `Logger` made afterwards writes logfmt lines
    /// from `level` up to `file`, or to standard error when there is none. Called once, first thing
    /// in an executable; SIGHUP calls the returned sink's `reopen()`.
    public static func bootstrap(level: Logger.Level, file: String?) throws(LogSinkError) -> LogSink {
        let sink = try file.map { path throws(LogSinkError) in try LogSink(path: path) } ?? LogSink.standardError
        LoggingSystem.bootstrap { _ in LogfmtLogHandler(sink: sink, level: level) }
        return sink
    }
}
