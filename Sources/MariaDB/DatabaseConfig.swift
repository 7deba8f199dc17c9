import CMariaDB

public struct DatabaseConfig: Sendable {
    public var host: String
    public var port: UInt32
    public var socket: String?
    public var user: String
    public var password: String
    public var name: String
    /// `+08:00`: every session runs in the shop's zone so NOW() and stored times agree.
    public var timeZoneOffset: String
    /// Connector/C takes whole seconds: a fraction counts as a whole second.
    public var connectTimeout: Duration = .seconds(2)
    public var readTimeout: Duration = .seconds(30)
    /// The index in `nodes` a connection tries first (`DatabaseWriteMode.preferredNode`).
    public var preferredNode = 0
    /// How long a connection that failed over to another node stays there before it goes back
    /// to its preferred node (at the start of a unit of work, see `Database.beginUnitOfWork`).
    public var failbackAfter: Duration = .seconds(30)
    private var listedNodes: [DatabaseNode] = []

    /// The nodes a connection may use, in order (`LUFFY_DB_NODES`); without a list, the one node
    /// of `host`/`port`/`socket`.
    public var nodes: [DatabaseNode] {
        get { listedNodes.isEmpty ? [socket.map { .socket(path: $0) } ?? .tcp(host: host, port: port)] : listedNodes }
        set { listedNodes = newValue }
    }

    public init(
        host: String, port: UInt32, socket: String?, user: String, password: String, name: String,
        timeZoneOffset: String
    ) {
        self.host = host
        self.port = port
        self.socket = socket
        self.user = user
        self.password = password
        self.name = name
        self.timeZoneOffset = timeZoneOffset
    }

    /// Connector/C keeps global state that is not safe to set up lazily from several threads:
    /// call this once, before any thread opens a connection.
    public static func initializeLibrary() {
        _ = luffy_mysql_library_init()
    }
}
