/* The Alipay return page (README, "GET /payments/alipay/result").
 *
 * Alipay sends the buyer's browser to return_url (/alipay) with its signed return parameters.
 * This script forwards that query string unchanged to GET /payments/alipay/result and shows
 * one of the states of <main id="result" data-state="…">:
 *   paid     200: courses, pay time, amount, order number, a link to the orders page
 *   pending  409 payment_pending, 502 gateway_unavailable, or the service/network failing:
 *            automatic retries with back-off (1 s, 2 s, 4 s, 8 s, then 15 s; 8 tries in all),
 *            a manual retry button, and after the last try what to do next
 *   error    400/404 (and any other refusal), or the page opened without Alipay's parameters
 * Server text only ever reaches the page through textContent. The "my orders" and "home" links
 * (data-link) lead to the shop's pages: /alipay/links.json (nginx) names them.
 */
(function () {
  "use strict";

  var API_PATH = "/payments/alipay/result";
  var LINKS_PATH = "/alipay/links.json";
  var RETRY_DELAYS = [1, 2, 4, 8, 15, 15, 15];  // seconds before the 2nd, 3rd, … try
  var MAX_TRIES = RETRY_DELAYS.length + 1;
  var REQUEST_TIMEOUT_MS = 20000;
  var TITLES = {
    loading: "正在查询支付结果 - 路飞学城",
    paid: "支付成功 - 路飞学城",
    pending: "支付结果确认中 - 路飞学城",
    error: "支付结果查询失败 - 路飞学城"
  };

  var query = window.location.search;
  var params = new URLSearchParams(query);
  var orderNumber = params.get("out_trade_no") || "";

  var root = byId("result");
  var tries = 0;          // tries of the current round (a manual retry after the last one starts a new round)
  var inFlight = false;
  var retryTimer = null;
  var countdownTimer = null;

  function byId(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    byId(id).textContent = text;
  }

  function show(state) {
    var sections = root.querySelectorAll("section[data-state]");
    for (var i = 0; i < sections.length; i++) {
      sections[i].hidden = sections[i].getAttribute("data-state") !== state;
    }
    root.setAttribute("data-state", state);
    document.title = TITLES[state];
  }

  function stopTimers() {
    if (retryTimer !== null) { clearTimeout(retryTimer); retryTimer = null; }
    if (countdownTimer !== null) { clearInterval(countdownTimer); countdownTimer = null; }
  }

  // Money arrives as a JSON number with two decimals (998.00 parses as 998).
  function formatAmount(value) {
    var n = typeof value === "number" ? value : Number(value);
    if (value === null || value === "" || !isFinite(n)) return "—";
    return "¥" + n.toFixed(2);
  }

  // ---------------------------------------------------------------- states
  function showPaid(body) {
    stopTimers();
    var courses = body.course_list;
    setText("paid-count", String(courses.length));
    setText("paid-order-number", typeof body.order_number === "string" ? body.order_number : orderNumber);
    setText("paid-time", typeof body.pay_time === "string" && body.pay_time ? body.pay_time : "—");
    setText("paid-amount", formatAmount(body.real_price));
    var list = byId("paid-courses");
    while (list.firstChild) list.removeChild(list.firstChild);
    for (var i = 0; i < courses.length; i++) {
      var course = courses[i] || {};
      var item = document.createElement("li");
      item.textContent = "《" + (course.name == null ? "" : String(course.name)) + "》";
      // the validity period bought (README, "Validity periods"): 一个月有效, 永久有效, …
      if (typeof course.expire_text === "string" && course.expire_text) {
        var period = document.createElement("span");
        period.className = "course-period";
        period.textContent = course.expire_text;
        item.appendChild(period);
      }
      if (course.id != null) item.setAttribute("data-course-id", String(course.id));
      list.appendChild(item);
    }
    show("paid");
  }

  function showError(errmsg, code) {
    stopTimers();
    setText("error-message", errmsg);
    setText("error-code", code);
    byId("error-order").hidden = !orderNumber;
    setText("error-order-number", orderNumber);
    show("error");
  }

  // One try came back "not confirmed yet": schedule the next one, or stop after the last.
  function showPending(detail) {
    stopTimers();
    var section = byId("state-pending");
    section.setAttribute("data-attempts", String(tries));
    var detailEl = byId("pending-detail");
    detailEl.hidden = !detail;
    detailEl.textContent = detail || "";
    setText("pending-order-number", orderNumber ? " " + orderNumber : "");
    byId("retry-button").disabled = false;

    if (tries >= MAX_TRIES) {
      section.setAttribute("data-exhausted", "true");
      setText("pending-message", "已自动查询 " + tries + " 次，支付宝仍未确认这笔付款。");
      setText("pending-progress", "");
      byId("pending-exhausted").hidden = false;
      setText("retry-button", "重新查询");
    } else {
      section.setAttribute("data-exhausted", "false");
      byId("pending-exhausted").hidden = true;
      setText("pending-message", "正在向支付宝确认您的付款，请稍候，不要重复付款。");
      setText("retry-button", "立即重新查询");
      var remaining = RETRY_DELAYS[tries - 1];
      var tick = function () {
        setText("pending-progress", "已查询 " + tries + " 次，" + remaining + " 秒后自动重新查询。");
      };
      tick();
      countdownTimer = setInterval(function () {
        if (remaining > 1) { remaining -= 1; tick(); }
      }, 1000);
      retryTimer = setTimeout(attempt, remaining * 1000);
    }
    show("pending");
  }

  // ---------------------------------------------------------------- the request
  function parseJSON(text) {
    try {
      var value = JSON.parse(text);
      return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
    } catch (e) {
      return null;
    }
  }

  function errorText(body, fallback) {
    return body && typeof body.errmsg === "string" && body.errmsg ? body.errmsg : fallback;
  }

  function errorCode(body, fallback) {
    return body && typeof body.code === "string" && body.code ? body.code : fallback;
  }

  function handle(status, body) {
    if (status === 200) {
      if (body && body.order_status === 1 && Array.isArray(body.course_list)) {
        showPaid(body);
      } else {
        showError("服务器返回了无法识别的支付结果，请到“我的订单”查看订单状态。", "unexpected_response");
      }
      return;
    }
    if (status === 409) {
      showPending("");
      return;
    }
    // The gateway or the service is unreachable for now (the app's 502 gateway_unavailable,
    // nginx's own 502/503/504, a dropped connection): not an answer, so try again later.
    if (status === 0 || status === 429 || status >= 500) {
      showPending(status === 0 ? "网络连接异常，正在重试。" : errorText(body, "服务暂时不可用，正在重试。"));
      return;
    }
    showError(errorText(body, "支付结果查询失败（HTTP " + status + "）。"), errorCode(body, "http_" + status));
  }

  function attempt() {
    if (inFlight) return;
    stopTimers();
    inFlight = true;
    tries += 1;
    byId("retry-button").disabled = true;
    if (root.getAttribute("data-state") === "pending") {
      setText("pending-progress", "正在进行第 " + tries + " 次查询…");
    }

    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var abortTimer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var options = {
      method: "GET",
      headers: { "Accept": "application/json" },
      cache: "no-store",
      credentials: "same-origin"
    };
    if (controller) options.signal = controller.signal;

    fetch(API_PATH + query, options)
      .then(function (response) {
        return response.text().then(function (text) {
          return { status: response.status, body: parseJSON(text) };
        });
      })
      .catch(function () {
        return { status: 0, body: null };
      })
      .then(function (outcome) {
        if (abortTimer !== null) clearTimeout(abortTimer);
        inFlight = false;
        handle(outcome.status, outcome.body);
      });
  }

  function retryNow() {
    if (inFlight) return;
    if (tries >= MAX_TRIES) tries = 0;   // a new round of automatic retries
    attempt();
  }

  // ---------------------------------------------------------------- the shop's pages
  // Only http(s) URLs and paths: a link never runs script. Without an answer the page's hrefs stay.
  function setLinks(name, url) {
    if (typeof url !== "string" || !(url.charAt(0) === "/" || url.indexOf("https:") === 0 ||
        url.indexOf("http:") === 0)) return;
    var anchors = root.querySelectorAll("a[data-link=\"" + name + "\"]");
    for (var i = 0; i < anchors.length; i++) anchors[i].setAttribute("href", url);
  }

  function loadLinks() {
    fetch(LINKS_PATH, { headers: { "Accept": "application/json" }, cache: "no-cache", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (text) {
        var links = parseJSON(text);
        if (!links) return;
        setLinks("orders", links.orders_url);
        setLinks("home", links.home_url);
      })
      .catch(function () {});
  }

  // ---------------------------------------------------------------- start
  loadLinks();
  byId("retry-button").addEventListener("click", retryNow);
  if (!params.get("out_trade_no") || !params.get("sign")) {
    showError("页面缺少支付宝返回的支付信息，无法查询支付结果。请从支付宝付款完成页返回，或到“我的订单”查看订单状态。",
      "missing_parameters");
  } else {
    attempt();
  }
})();
