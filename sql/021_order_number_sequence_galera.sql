-- The order-number sequence in a form a Galera node takes (010's CACHE 100 is refused there:
-- error 1235 "CACHE without INCREMENT BY 0 in Galera cluster"). INCREMENT BY 0 steps by the
-- session's auto_increment_increment from its auto_increment_offset: 1 and 1 on a single server,
-- so numbers continue exactly as before; on a cluster Galera gives every node its own offset
-- (wsrep_auto_increment_control), so each node serves its own values from its own cache of 100
-- and writes the sequence's one row once per 100 orders, not on every order (docs/ARCHITECTURE.md,
-- "Order numbers on a cluster", has the measurement). Numbers only need to be unique.
-- A database without 010 never runs it (`luffy-pay migrate` records it as replaced by this file);
-- one that applied 010 keeps its sequence and its position, altered in place.
CREATE SEQUENCE IF NOT EXISTS ly_order_number_seq START WITH 1 INCREMENT BY 0 NOCYCLE CACHE 100;
ALTER SEQUENCE ly_order_number_seq INCREMENT BY 0 CACHE 100;
