public import MariaDB

extension Migrator.Replacement {
    /// The shop's replaced migrations (README, "For the DBA: applying `sql/`"): each file here is
    /// recorded without running on a database that has not applied it, its replacement creating what
    /// it would have.
    public static let luffyPay: [Migrator.Replacement] = []
}
