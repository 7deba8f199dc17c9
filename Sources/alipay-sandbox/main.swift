import AlipaySandbox
import FastCGI
import Foundation
import Logging
import LuffyCore

/// `alipay-sandbox [serve]`: wiring only; the work is in AlipaySandbox.
let usage = """
    usage: alipay-sandbox [serve | --help]
      serve (default)  run the local Alipay gateway as a FastCGI responder on
                       LUFFY_SANDBOX_FCGI_SOCKET (or the socket on fd 0), behind nginx
    settings (environment, or the KEY=VALUE file named by LUFFY_CONFIG; docs/SANDBOX.md):
      LUFFY_SANDBOX_FCGI_SOCKET     unix socket to listen on
      LUFFY_SANDBOX_THREADS         worker threads (4)
      LUFFY_SANDBOX_PRIVATE_KEY     the "Alipay" private key it signs with (required)
      LUFFY_SANDBOX_APP_PUBLIC_KEY  the app's public key it verifies requests with (required)
      LUFFY_SANDBOX_NOTIFY_DELAYS   seconds between notification retries (1,2,4,8,16; none)
      LUFFY_SANDBOX_NOTIFY_TIMEOUT  seconds for one notification POST (5)
      LUFFY_SANDBOX_LOG_FILE        log file (default: stderr)
      LUFFY_SANDBOX_STATE_FILE      trades and refunds kept here across restarts (default: memory only)
      LUFFY_SANDBOX_REFUND_NOTIFY   1: refund notifications to the payment's notify_url (0)
      LUFFY_SANDBOX_REFUND_MIN_GAP  seconds between two refunds of one trade (3)
      LUFFY_SANDBOX_REFUND_FAULT    none | system_error_once | answer_lost_once | balance_not_enough
      LUFFY_SANDBOX_REFUND_DELAY_MS refund answers held this long after applying (0)
      LUFFY_ALIPAY_APP_ID           the app it serves (required), LUFFY_ALIPAY_SELLER_ID,
      LUFFY_TIMEZONE, LUFFY_LOG_LEVEL  shared with luffy-pay
    Pending notifications live in memory only: a restart forgets them.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("alipay-sandbox: \(message)\n".utf8))
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") || arguments.first == "help" {
    print(usage)
    exit(0)
}
guard arguments.isEmpty || arguments == ["serve"] else { fail(usage) }

do {
    let settings = try SandboxSettings.load()
    let logSink = try LogfmtLogHandler.bootstrap(level: settings.logLevel, file: settings.logFile)
    let log = Logger(label: "alipay-sandbox")
    // Before any thread exists: signals are taken by the runner only (README, "The executable").
    let runner = ServiceRunner(log: log, onHangUp: logSink.reopen)
    let sandbox = try Sandbox(settings: settings, log: log)
    let options = FastCGIServer.Options(socketPath: settings.socketPath, threads: settings.threads, maxBody: 1 << 20)
    runner.add("fastcgi", try FastCGIServer(options: options, log: log, makeResponder: sandbox.makeResponder))
    runner.add("notifier", sandbox.notifier)
    exit(try runner.run())
} catch {
    fail(String(describing: error))
}
