-- 008: coupon lookups read one user's coupon log filtered by use_status (0 = unused for /coupon/enable and POST /orders).
CREATE INDEX IF NOT EXISTS `ly_coupon_log_user_status_idx` ON `ly_coupon_log` (`user_id`, `use_status`);
