-- 016: an Idempotency-Key compares exactly: `KEY-ABC` is another key than `Key-abc` (011 gave the
-- column the table's case-insensitive collation). Keys are printable ASCII, so no two stored keys
-- can collide under the binary collation.
ALTER TABLE ly_idempotency_key MODIFY `idem_key` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
