import Foundation
import MariaDB
import Testing

@testable import LuffyPay

@Suite struct MigrationPrecheckTests {
    /// A pre-check is found by its file's name: one that names no file of sql/ would silently never run.
    @Test func everyPrecheckNamesAMigrationOfSQL() throws {
        let sqlDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../sql").standardizedFileURL.path
        let files = Set(try Migrator.load(directory: sqlDir).map(\.file))
        #expect(!Migrator.Precheck.luffyPay.isEmpty)
        for check in Migrator.Precheck.luffyPay {
            #expect(files.contains(check.file), "\(check.file) is not a migration in \(sqlDir)")
            #expect(check.remedy.contains("For the DBA: applying sql/"))
        }
    }
}
