-- 006: the user's order list (WHERE user_id, is_deleted=0, is_show=1 [, order_status] ORDER BY id DESC, and its COUNT(*)).
-- With the status filter every page is a direct seek in id order; both COUNTs are index-only. Without the
-- status filter MariaDB keeps using ly_order_user_id, which InnoDB already orders as (user_id, id): no filesort.
CREATE INDEX IF NOT EXISTS `ly_order_user_list_idx` ON `ly_order` (`user_id`, `is_deleted`, `is_show`, `order_status`, `id`);
