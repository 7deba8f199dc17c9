-- Idempotency-Key of POST /orders: the key row is inserted in the same transaction as the order,
-- so a concurrent retry waits on the unique key and then replays the stored response; a failed
-- attempt rolls the key back with everything else.
CREATE TABLE IF NOT EXISTS ly_idempotency_key (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `user_id` bigint(20) NOT NULL,
  `idem_key` varchar(255) NOT NULL,
  `request_hash` char(64) NOT NULL,
  `status_code` smallint(6) DEFAULT NULL,
  `response_body` longtext DEFAULT NULL,
  `order_id` bigint(20) DEFAULT NULL,
  `created_time` datetime(6) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ly_idempotency_key_user_key` (`user_id`, `idem_key`),
  KEY `ly_idempotency_key_created` (`created_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
