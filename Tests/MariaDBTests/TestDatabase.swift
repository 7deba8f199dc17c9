import Foundation
import LuffyCore

@testable import MariaDB

/// A database of a test's own on the test stack's MariaDB, created as the stack's root over its
/// socket (unix_socket authentication); the in-process tests need LUFFY_CONFIG, and
/// scripts/test.sh runs them once the stack is up.
struct TestDatabase {
    static let library: Void = DatabaseConfig.initializeLibrary()

    /// `config.name` is the new database's.
    let config: DatabaseConfig
    /// The settings LUFFY_CONFIG names.
    let values: SettingValues

    init(prefix: String) throws {
        let values = try SettingValues.load()
        guard let socket = values.text("LUFFY_DB_SOCKET") else {
            throw ConfigError.invalid(key: "LUFFY_CONFIG", value: "", expected: "the test stack's settings (see InProcessTests)")
        }
        Self.library
        var config = DatabaseConfig(
            host: "localhost", port: 0, socket: socket, user: NSUserName(), password: "", name: "", timeZoneOffset: "+08:00")
        let root = Database(config: config)
        defer { root.disconnect() }
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try root.executeScript(SQLQuery(unsafeSQL: "CREATE DATABASE `\(name)`"))
        config.name = name
        self.config = config
        self.values = values
    }

    /// Drops the database and closes `db`.
    func drop(_ db: Database) {
        _ = try? db.executeScript(SQLQuery(unsafeSQL: "DROP DATABASE `\(config.name)`"))
        db.disconnect()
    }
}
