import Foundation
import Testing

@testable import MariaDB

@Suite struct MigratorPrecheckTests {
    let check = Migrator.Precheck(
        file: "005_x.sql", query: "SELECT 'a'", problem: "t holds duplicate pairs", remedy: "Remove them, then migrate again.")

    /// The message names the file, says that nothing from it on ran, lists every finding and ends with what to do.
    @Test func aFailedPrecheckListsItsFindingsAndTheRemedy() {
        let error = Migrator.MigrationError.precheckFailed(
            check, findings: ["user_id=7 course_id=3 rows=2", "user_id=8 course_id=1 rows=3"])
        #expect(
            error.description == """
                005_x.sql not applied, nor any file after it: t holds duplicate pairs (2 found):
                  user_id=7 course_id=3 rows=2
                  user_id=8 course_id=1 rows=3
                Remove them, then migrate again.
                """)
    }

    /// A database with thousands of findings gets the first 100 and a count of the rest, not a flood.
    @Test func manyFindingsAreCutAfterOneHundred() {
        let findings = (1...250).map { "pair \($0)" }
        let lines = Migrator.MigrationError.precheckFailed(check, findings: findings).description
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "005_x.sql not applied, nor any file after it: t holds duplicate pairs (250 found):")
        #expect(lines.count == 1 + 100 + 2)
        #expect(lines[1] == "  pair 1" && lines[100] == "  pair 100")
        #expect(lines[101] == "  … and 150 more")
        #expect(lines.last == "Remove them, then migrate again.")
    }
}
