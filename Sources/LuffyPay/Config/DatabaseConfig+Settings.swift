public import MariaDB

extension DatabaseConfig {
    /// The service's connection settings (README, "Configuration").
    public init(settings: Settings) {
        self.init(
            host: settings.dbHost, port: settings.dbPort, socket: settings.dbSocket, user: settings.dbUser,
            password: settings.dbPassword, name: settings.dbName, timeZoneOffset: settings.utcOffset)
    }
}
