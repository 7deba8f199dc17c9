public import MariaDB

extension DatabaseConfig {
    /// The service's connection settings (README, "Configuration"); `worker` (0, 1, …) chooses the
    /// preferred node by `LUFFY_DB_WRITE_MODE` (README, "Database nodes").
    public init(settings: Settings, worker: Int = 0) {
        self.init(
            host: settings.dbHost, port: settings.dbPort, socket: settings.dbSocket, user: settings.dbUser,
            password: settings.dbPassword, name: settings.dbName, timeZoneOffset: settings.utcOffset)
        nodes = settings.dbNodes
        preferredNode = settings.dbWriteMode.preferredNode(worker: worker, count: nodes.count)
    }
}
