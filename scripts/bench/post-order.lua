-- wrk script: POST /orders with two courses, no coupon, no credit (BENCH_TOKEN: the bench user's JWT).
wrk.method = "POST"
wrk.body = '{"course_ids":[1,3],"pay_type":0,"user_coupon_id":-1,"credit":0}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "jwt " .. os.getenv("BENCH_TOKEN")
