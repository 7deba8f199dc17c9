-- One row per buyer, written by every POST /orders of that buyer before it looks for its courses
-- in the buyer's unpaid orders (README, "POST /orders": course_in_unpaid_order). Until now the
-- request locked the buyer's ly_users row, which orders two such requests on one server only: on
-- a Galera cluster locks are local to a node, and two transactions exclude each other across nodes
-- only when both write the same row, so that the second to commit fails certification and runs
-- again (docs/ARCHITECTURE.md, "Locks on a cluster"). ly_users is not written when the order
-- spends no credit, and it is the login service's table: the shop writes a row of its own.
CREATE TABLE IF NOT EXISTS ly_order_user_guard (
  `user_id` bigint(20) NOT NULL,
  `orders_created` bigint(20) NOT NULL,
  PRIMARY KEY (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
