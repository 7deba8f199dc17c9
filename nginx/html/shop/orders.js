/* The dev stack's "my orders" page (nginx/html/shop/orders.html): GET /user/order, page by page,
 * with the token in localStorage. States of <main id="orders" data-state="…">: loading, list,
 * signin (no token, or the API answered 401), error. Server text reaches the page through
 * textContent only.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "user_token";
  var PAGE_SIZE = 10;
  var root = document.getElementById("orders");
  var page = 1;

  function byId(id) {
    return document.getElementById(id);
  }

  function setState(state, message) {
    root.setAttribute("data-state", state);
    byId("orders-message").textContent = message;
    byId("token-form").hidden = state !== "signin";
  }

  function parseJSON(text) {
    try {
      var value = JSON.parse(text);
      return value !== null && typeof value === "object" ? value : null;
    } catch (e) {
      return null;
    }
  }

  function money(value) {
    var n = Number(value);
    return isFinite(n) ? "¥" + n.toFixed(2) : "—";
  }

  function line(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function render(body) {
    var list = byId("orders-list");
    while (list.firstChild) list.removeChild(list.firstChild);
    for (var i = 0; i < body.results.length; i++) {
      var order = body.results[i] || {};
      var item = document.createElement("li");
      item.setAttribute("data-order-number", String(order.order_number));
      item.appendChild(line("order-head", "订单号 " + order.order_number + " · " + order.get_order_status_display));
      var courses = Array.isArray(order.order_courses) ? order.order_courses : [];
      var names = [];
      for (var j = 0; j < courses.length; j++) names.push("《" + String(courses[j].course_name) + "》");
      item.appendChild(line("order-courses", names.join(" ")));
      item.appendChild(line("muted", order.created_time + " · 实付 " + money(order.real_price)));
      list.appendChild(item);
    }
    byId("orders-previous").hidden = !body.previous;
    byId("orders-next").hidden = !body.next;
    setState("list", body.count > 0 ? "共 " + body.count + " 个订单，第 " + page + " 页" : "您还没有订单。");
  }

  function load() {
    var token = window.localStorage.getItem(TOKEN_KEY);
    if (!token) {
      setState("signin", "请先登录：填入登录令牌（开发环境：make token）。");
      return;
    }
    setState("loading", "正在加载…");
    fetch("/user/order?page=" + page + "&size=" + PAGE_SIZE, {
      headers: { "Authorization": "jwt " + token, "Accept": "application/json" },
      cache: "no-store"
    })
      .then(function (response) {
        return response.text().then(function (text) {
          return { status: response.status, body: parseJSON(text) };
        });
      })
      .catch(function () {
        return { status: 0, body: null };
      })
      .then(function (outcome) {
        var body = outcome.body;
        if (outcome.status === 200 && body && Array.isArray(body.results)) {
          render(body);
        } else if (outcome.status === 401) {
          window.localStorage.removeItem(TOKEN_KEY);
          setState("signin", (body && body.errmsg) || "登录已失效，请重新登录。");
        } else {
          setState("error", (body && body.errmsg) || "订单加载失败（HTTP " + outcome.status + "），请稍后重试。");
        }
      });
  }

  // /shop/orders#token=<jwt>: keep the token, and take it out of the address bar.
  var fromLink = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (fromLink) {
    window.localStorage.setItem(TOKEN_KEY, decodeURIComponent(fromLink[1]));
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  byId("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var token = byId("token-input").value.trim();
    if (token) window.localStorage.setItem(TOKEN_KEY, token);
    page = 1;
    load();
  });
  byId("orders-previous").addEventListener("click", function () { page -= 1; load(); });
  byId("orders-next").addEventListener("click", function () { page += 1; load(); });
  load();
})();
