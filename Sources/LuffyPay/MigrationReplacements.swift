public import MariaDB

extension Migrator.Replacement {
    /// The shop's replaced migrations (README, "For the DBA: applying `sql/`"): each file here is
    /// recorded without running on a database that has not applied it, its replacement creating what
    /// it would have.
    public static let luffyPay: [Migrator.Replacement] = [orderNumberSequence]

    /// 010 creates the order-number sequence with `CACHE 100`, which a Galera node refuses (error
    /// 1235): a fresh cluster could not migrate. 021 creates it in a form a node takes and alters
    /// 010's where it ran (docs/ARCHITECTURE.md, "Order numbers on a cluster").
    static let orderNumberSequence = Migrator.Replacement(
        file: "010_order_number_sequence.sql", replacedBy: "021_order_number_sequence_galera.sql",
        reason: "021 creates the order-number sequence in a form a Galera node takes (010's CACHE 100 is refused there)")
}
