-- 007: the timeout sweeper scans unpaid orders older than the timeout (order_status = 0 AND created_time < ?).
CREATE INDEX IF NOT EXISTS `ly_order_status_created_idx` ON `ly_order` (`order_status`, `created_time`);
