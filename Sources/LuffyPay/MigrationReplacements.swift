public import MariaDB

extension Migrator.Replacement {
    /// The shop's replaced migrations (README, "For the DBA: applying `sql/`"): each file here is
    /// recorded without running on a database that has not applied it, its replacement creating what
    /// it would have.
    public static let luffyPay: [Migrator.Replacement] = [
        Migrator.Replacement(
            file: "010_order_number_sequence.sql", replacedBy: "021_order_number_sequence_galera.sql",
            reason: "a Galera node refuses 010's CACHE 100 (error 1235); 021 creates the sequence as a cluster takes it")
    ]
}
