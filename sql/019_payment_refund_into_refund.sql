-- 019: the "to refund" records of sql/013 and sql/015 become refunds (docs/REFUNDS.md,
-- "From ly_payment_refund"): each row one ly_refund with its event (actor `migration`), nothing
-- lost. refund_status 0 (owed) is `approved`, so the refund worker pays it back; 1 (paid back by
-- an operator) is `succeeded`; any other value, which the service never wrote, is `failed` for a
-- person to look at (staff can retry it). Reason and amount are kept, the old `source` (where the
-- payment was learned) is `payment_source`; a row of one course (course_id > 0, sql/015) covers
-- that order course. ly_payment_refund itself stays as it is, no longer written: the record the
-- copy was made from, and `luffy-pay audit` (payment_refund_migrated) reports a row without its
-- refund, e.g. one an older binary wrote during a rolling deploy. Every statement skips what an
-- earlier run copied.
INSERT INTO ly_refund (out_request_no, order_id, order_number, order_seq, trade_no, amount, reason, source, state,
                       requested_by, approved_by, payment_source, payment_refund_id, in_flight_trade_no, sub_code,
                       sub_msg, fund_change, attempts, next_attempt_time, created_time, updated_time)
SELECT CONCAT('R', p.order_number, '-', p.seq), p.order_id, p.order_number, p.seq, p.trade_no, p.total_amount,
       p.reason,
       CASE p.reason WHEN 'order_cancelled' THEN 'late_payment' WHEN 'order_timed_out' THEN 'late_payment'
                     WHEN 'duplicate_payment' THEN 'duplicate_payment' WHEN 'amount_mismatch' THEN 'amount_mismatch'
                     WHEN 'course_already_owned' THEN 'course_owned' ELSE 'staff' END,
       CASE p.refund_status WHEN 0 THEN 'approved' WHEN 1 THEN 'succeeded' ELSE 'failed' END,
       NULL, NULL, p.source, p.id, NULL, NULL, NULL, NULL, 0, IF(p.refund_status = 0, NOW(6), NULL),
       p.created_time, NOW(6)
FROM (SELECT pr.*, ROW_NUMBER() OVER (PARTITION BY pr.order_id ORDER BY pr.id)
                   + (SELECT COALESCE(MAX(r.order_seq), 0) FROM ly_refund r WHERE r.order_id = pr.order_id) AS seq
      FROM ly_payment_refund pr
      WHERE NOT EXISTS (SELECT 1 FROM ly_refund r WHERE r.payment_refund_id = pr.id)) p
ORDER BY p.id;

INSERT INTO ly_refund_course (refund_id, order_course_id, course_id, amount, live_key)
SELECT r.id, oc.id, oc.course_id, r.amount, IF(r.state IN ('denied', 'failed'), NULL, oc.id)
FROM ly_refund r
JOIN ly_payment_refund p ON p.id = r.payment_refund_id
JOIN ly_order_course oc ON oc.order_id = p.order_id AND oc.course_id = p.course_id
WHERE p.course_id <> 0 AND NOT EXISTS (SELECT 1 FROM ly_refund_course rc WHERE rc.refund_id = r.id);

INSERT INTO ly_refund_event (refund_id, from_state, to_state, actor, created_time, note, gateway_answer)
SELECT r.id, NULL, r.state, 'migration', NOW(6),
       CONCAT('from ly_payment_refund ', p.id, ': ', p.reason, ', refund_status ', p.refund_status, ', learned by ',
              p.source, IF(p.course_id <> 0, CONCAT(', course ', p.course_id), '')),
       NULL
FROM ly_refund r JOIN ly_payment_refund p ON p.id = r.payment_refund_id
WHERE NOT EXISTS (SELECT 1 FROM ly_refund_event e WHERE e.refund_id = r.id AND e.actor = 'migration');

-- What an operator already paid back of an order's own trade (a course's share, sql/015).
UPDATE ly_order o
JOIN (SELECT r.order_id, SUM(r.amount) AS refunded FROM ly_refund r JOIN ly_order x ON x.id = r.order_id
      WHERE r.state = 'succeeded' AND r.trade_no = x.trade_no GROUP BY r.order_id) s ON s.order_id = o.id
SET o.refunded_amount = s.refunded;
