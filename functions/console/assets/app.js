// The operator console: a small single-page app over the carts' JSON routes (same origin).
// Rules kept throughout: the shop's token lives in sessionStorage only and goes in the
// Authorization header, never in a URL; every value from the API is put in the page as text
// (textContent / text nodes), never parsed as HTML.

import { CARTS, t, tMaybe, language, setLanguage, cartName } from "/console/i18n.js";

const TOKEN_KEY = "mallsync.token";
const STORE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const view = document.getElementById("view");

const state = {
  stores: null, // [{ cart, id, name, settings, summary, ... }] over every cart
  storeErrors: [], // carts whose list could not be read
  schemas: {}, // cart -> settings schema
  flash: null, // { kind: "ok" | "error", text } shown once above the next page
  log: { failuresOnly: false },
};

// ---------------------------------------------------------------------------------------------
// DOM: elements from plain values; strings always become text nodes.

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (typeof value === "boolean") {
      if (key in el) el[key] = value;
      else el.setAttribute(key, "");
    }
    else el.setAttribute(key, String(value));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function show(...children) {
  const flash = state.flash;
  state.flash = null;
  view.replaceChildren();
  add(view, children);
  // A message from the step before (saved, connected, logged out) goes under the page title.
  if (flash) {
    const title = view.querySelector("h1");
    const message = notice(flash.kind, flash.text);
    if (title) title.after(message);
    else view.prepend(message);
  }
}

function notice(kind, text) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

function table(headers, rows, props = {}) {
  return h(
    "table",
    props,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows),
  );
}

function fmtTime(value) {
  if (!value) return t("none");
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  // Japan time, as the carts and the operators count days.
  return date.toLocaleString(language() === "ja" ? "ja-JP" : "en-GB", {
    timeZone: "Asia/Tokyo",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

function jstDate(offsetDays = 0) {
  const now = new Date(Date.now() + 9 * 3600 * 1000 + offsetDays * 86400 * 1000);
  return now.toISOString().slice(0, 10);
}

function button(label, onclick, props = {}) {
  return h("button", { type: "button", onclick, ...props }, label);
}

/** Runs `work` with `btn` disabled, so a second press cannot start it twice. */
async function busy(btn, work) {
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------------------------------------
// The API: same origin, the token in a header.

class ApiError extends Error {
  constructor(status, body) {
    super((body && typeof body.error === "string" && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body, { allow401 = false } = {}) {
  const headers = { accept: "application/json" };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const init = { method, headers, cache: "no-store", credentials: "omit", redirect: "error" };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: t("network_error") });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: text.slice(0, 300) };
    }
  }
  if (response.status === 401 && !allow401) {
    logout(t("session_ended"));
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function storePath(cart, id, rest = "") {
  return `/${cart}/stores/${encodeURIComponent(id)}${rest}`;
}

/** The message of a failed call, with the cart's own words when it gave any. */
function errorText(error) {
  const body = error.body || {};
  const parts = [error.message];
  const cartError = body.cart_error;
  if (cartError && typeof cartError === "object" && cartError.message) {
    parts.push(String(cartError.message));
  }
  const problems = Array.isArray(body.problems) ? body.problems : [];
  for (const p of problems) parts.push(`${p.field}: ${problemMessage(p)}`);
  return parts.join(" — ");
}

function problemMessage(problem) {
  return (language() === "ja" && problem.message_ja) || problem.message || problem.message_ja || "";
}

// ---------------------------------------------------------------------------------------------
// Log in and out.

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.stores = null;
  if (message) state.flash = { kind: "error", text: message };
  renderLogin();
}

function renderLogin() {
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const form = h(
    "form",
    { id: "login", class: "card narrow", novalidate: true },
    h("h1", {}, t("login_title")),
    h("p", { class: "help" }, t("login_help")),
    h("label", { for: "token" }, t("login_token")),
    input,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("login_submit"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    try {
      // Any shop route tells whether the token is a shop's.
      await api("GET", "/bcart/stores", undefined, { allow401: true });
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      input.value = "";
      state.flash = {
        kind: "error",
        text: error.status === 401 ? t("login_refused") : errorText(error),
      };
      renderLogin();
      return;
    }
    input.value = "";
    render();
  });
  show(form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Stores of every cart.

async function loadStores(force = false) {
  if (state.stores && !force) return state.stores;
  const lists = await Promise.allSettled(CARTS.map((c) => api("GET", `/${c.slug}/stores`)));
  const stores = [];
  const errors = [];
  lists.forEach((result, i) => {
    const cart = CARTS[i].slug;
    if (result.status === "fulfilled") {
      for (const store of result.value?.stores || []) stores.push({ ...store, cart });
    } else {
      errors.push({ cart, error: result.reason });
    }
  });
  if (errors.some((e) => e.error.status === 401)) throw errors[0].error;
  state.stores = stores;
  state.storeErrors = errors;
  return stores;
}

function findStore(cart, id) {
  return (state.stores || []).find((s) => s.cart === cart && s.id === id) || null;
}

function onOff(value) {
  if (value === undefined || value === null) return h("span", { class: "muted" }, t("none"));
  return h("span", { class: value ? "badge on" : "badge off" }, value ? t("on") : t("off"));
}

function lastRun(run) {
  if (!run) return t("none");
  return fmtTime(run.ended_at || run.started_at);
}

/** What the store needs from the operator: reconnection, days left on BASE's refresh token,
 * notifications that could not be delivered. */
function storeState(store) {
  // `credentials` (next to `settings`) is the state of the store's token: { days_left,
  // needs_reconnection, ... }; `alerts` come with a single store.
  const credential = store.credentials && typeof store.credentials === "object" ? store.credentials : {};
  const alerts = Array.isArray(store.alerts) ? store.alerts : [];
  const needsReconnection =
    credential.needs_reconnection === true || alerts.some((a) => a && a.kind === "needs_reconnection");
  const parts = [];
  if (needsReconnection) parts.push(h("span", { class: "badge alert" }, t("needs_reconnection")));
  const days = credential.days_left;
  if (typeof days === "number") parts.push(h("span", { class: "muted" }, t("token_days_left", { n: days })));
  // `notifications`: the store's events for the shop's notification destinations
  // ({ pending, failed, last_sent_at, last_failed_at, last_error }).
  const notices = store.notifications && typeof store.notifications === "object" ? store.notifications : {};
  if (typeof notices.failed === "number" && notices.failed > 0) {
    parts.push(h("span", { class: "badge alert", title: String(notices.last_error || "") }, t("notices_failed", { n: notices.failed })));
  }
  if (typeof notices.pending === "number" && notices.pending > 0) {
    parts.push(h("span", { class: "muted" }, t("notices_pending", { n: notices.pending })));
  }
  if (!parts.length) parts.push(h("span", { class: "muted" }, t("state_ok")));
  return parts;
}

function storeLinks(store) {
  const base = `${encodeURIComponent(store.cart)}/${encodeURIComponent(store.id)}`;
  return h(
    "span",
    { class: "links" },
    h("a", { href: `#/settings/${base}`, title: t("nav_settings") }, t("act_settings")),
    h("a", { href: `#/export/${base}`, title: t("nav_export") }, t("act_export")),
    h("a", { href: `#/import/${base}`, title: t("nav_import") }, t("act_import")),
    h("a", { href: `#/log/${base}`, title: t("nav_log") }, t("act_log")),
  );
}

async function pageStores() {
  const stores = await loadStores(true);
  const rows = stores.map((store) => {
    const summary = store.summary || {};
    const exportOn = summary.auto_export ?? store.settings?.export?.auto_export;
    const fetchOn = summary.auto_fetch ?? store.settings?.import?.auto_fetch;
    const wb = summary.last_write_back;
    return h(
      "tr",
      { "data-store": store.id },
      h("td", {}, cartName(store.cart)),
      h("td", {}, h("a", { href: `#/settings/${store.cart}/${encodeURIComponent(store.id)}` }, store.name)),
      h("td", {}, onOff(exportOn)),
      h("td", {}, onOff(fetchOn)),
      h("td", { class: "num" }, summary.pending_orders ?? t("none")),
      h("td", {}, lastRun(wb)),
      h("td", {}, lastRun(summary.last_import)),
      h("td", { class: "num" }, wb ? `${wb.failed ?? 0} / ${wb.deferred ?? 0}` : t("none")),
      h("td", {}, storeState(store)),
      h("td", {}, storeLinks(store)),
    );
  });
  const cartSelect = h(
    "select",
    { id: "new-store-cart", "aria-label": t("cart") },
    CARTS.map((c) => h("option", { value: c.slug }, cartName(c.slug))),
  );
  show(
    h("h1", {}, t("nav_stores")),
    state.storeErrors.map((e) =>
      notice("error", t("cart_unavailable", { cart: cartName(e.cart), error: errorText(e.error) })),
    ),
    h(
      "div",
      { class: "toolbar" },
      cartSelect,
      button(t("add_store"), () => go(`#/settings/${cartSelect.value}/new`), { id: "add-store" }),
    ),
    stores.length
      ? table(
          [
            t("cart"),
            t("store_name"),
            t("auto_export"),
            t("auto_fetch"),
            t("pending"),
            t("last_write_back"),
            t("last_import"),
            t("failed_deferred"),
            t("state"),
            t("actions"),
          ],
          rows,
          { id: "stores" },
        )
      : h("p", { class: "muted" }, t("no_stores")),
  );
}

/** The store chooser above every store page. */
function storePicker(page, cart, id) {
  const select = h(
    "select",
    { id: "store-picker", "aria-label": t("store") },
    h("option", { value: "" }, t("choose_store")),
    (state.stores || []).map((s) =>
      h(
        "option",
        { value: `${s.cart}/${s.id}`, selected: s.cart === cart && s.id === id },
        `${cartName(s.cart)} — ${s.name}`,
      ),
    ),
  );
  select.addEventListener("change", () => {
    if (select.value) {
      const [c, i] = select.value.split("/");
      go(`#/${page}/${c}/${encodeURIComponent(i)}`);
    }
  });
  return h("div", { class: "toolbar" }, h("label", { for: "store-picker" }, t("store")), select);
}

// ---------------------------------------------------------------------------------------------
// モール詳細設定: a form from the cart's settings schema.

async function loadSchema(cart) {
  if (!state.schemas[cart]) state.schemas[cart] = await api("GET", `/${cart}/settings/schema`);
  return state.schemas[cart];
}

/** The schema of `node` with `$ref`s, single `allOf`s and nullable unions resolved. */
function resolve(node, root) {
  let out = node || {};
  for (let i = 0; i < 8; i++) {
    if (out.$ref) {
      const name = out.$ref.replace(/^#\/(\$defs|definitions)\//, "");
      const target = (root.$defs || root.definitions || {})[name] || {};
      const { $ref, ...rest } = out;
      out = { ...target, ...rest };
    } else if (Array.isArray(out.allOf) && out.allOf.length === 1) {
      const { allOf, ...rest } = out;
      out = { ...allOf[0], ...rest };
    } else if (Array.isArray(out.anyOf || out.oneOf) && !(out.oneOf || []).every((o) => "const" in o)) {
      const options = (out.anyOf || out.oneOf).filter((o) => o.type !== "null");
      const { anyOf, oneOf, ...rest } = out;
      out = { ...(options[0] || {}), ...rest };
    } else break;
  }
  if (Array.isArray(out.type)) out = { ...out, type: out.type.find((x) => x !== "null") };
  if (!out.enum && Array.isArray(out.oneOf) && out.oneOf.every((o) => "const" in o)) {
    out = { ...out, enum: out.oneOf.map((o) => o.const) };
  }
  return out;
}

function label(schema, fallback) {
  if (language() === "en") return schema["x-title-en"] || schema.title || fallback;
  return schema.title || schema["x-title-en"] || fallback;
}

function describe(schema) {
  if (language() === "ja") return schema["x-description-ja"] || schema.description || "";
  return schema.description || "";
}

function enumLabel(schema, value) {
  const labels = schema["x-enum-labels"] || {};
  const entry = labels[String(value)];
  return (entry && (entry[language()] || entry.ja)) || String(value);
}

function fieldId(path) {
  return `f-${path.replace(/[^A-Za-z0-9]/g, "-")}`;
}

function renderObject(schema, value, path, root) {
  const props = schema.properties || {};
  const order = schema["x-order"] || Object.keys(props);
  return order
    .filter((key) => props[key])
    .map((key) => {
      const child = resolve(props[key], root);
      const childPath = path ? `${path}.${key}` : key;
      const childValue = value && typeof value === "object" ? value[key] : undefined;
      if (child.type === "object" && child.properties) {
        return h(
          "fieldset",
          { class: "group", "data-group": childPath },
          h("legend", {}, label(child, key)),
          renderObject(child, childValue, childPath, root),
          problemSlot(childPath),
        );
      }
      return renderField(child, childValue, childPath, key, root);
    });
}

function problemSlot(path) {
  return h("p", { class: "problem", "data-problem": path, id: `${fieldId(path)}-problem`, hidden: true });
}

function renderField(schema, value, path, key, root) {
  const id = fieldId(path);
  const current = value !== undefined ? value : schema.default;
  const common = { id, "data-path": path, "aria-describedby": `${id}-problem` };
  let input;
  let labelFirst = true;
  if (schema.type === "boolean") {
    input = h("input", { ...common, type: "checkbox", "data-kind": "boolean", checked: current === true });
    labelFirst = false;
  } else if (schema.type === "array") {
    const items = resolve(schema.items, root);
    const chosen = Array.isArray(current) ? current.map(String) : [];
    input = h(
      "div",
      { ...common, class: "choices", "data-kind": "array", role: "group" },
      (items.enum || []).map((option) =>
        h(
          "label",
          { class: "choice" },
          h("input", { type: "checkbox", value: String(option), checked: chosen.includes(String(option)) }),
          enumLabel(items, option),
        ),
      ),
    );
  } else if (Array.isArray(schema.enum)) {
    input = h(
      "select",
      { ...common, "data-kind": schema.type === "integer" ? "integer" : "string" },
      schema.enum.map((option) =>
        h("option", { value: String(option), selected: String(option) === String(current) }, enumLabel(schema, option)),
      ),
    );
  } else if (schema.writeOnly || schema.format === "password") {
    // A stored secret comes back masked; the mask is never put in the field, and an untouched
    // field sends the mask back, which keeps the stored value.
    const isSet = value === "********";
    input = h("input", {
      ...common,
      type: "password",
      autocomplete: "new-password",
      "data-kind": "secret",
      "data-set": isSet ? "1" : "0",
      placeholder: isSet ? t("secret_set") : t("secret_unset"),
    });
  } else if (schema.type === "integer" || schema.type === "number") {
    // Text, not type=number: what the operator typed reaches the server, which names the problem.
    input = h("input", {
      ...common,
      type: "text",
      inputmode: "numeric",
      "data-kind": "integer",
      value: current ?? "",
      class: "short",
    });
  } else {
    // Free text with the usual values offered (e.g. the OMS statuses for 受注格納先ステータス).
    const suggestions = Array.isArray(schema["x-suggestions"]) ? schema["x-suggestions"] : [];
    input = h("input", {
      ...common,
      type: schema.format === "uri" ? "url" : "text",
      "data-kind": "string",
      value: current ?? "",
      spellcheck: "false",
      list: suggestions.length ? `${id}-list` : null,
    });
    if (suggestions.length) {
      input = [input, h("datalist", { id: `${id}-list` }, suggestions.map((v) => h("option", { value: String(v) })))];
    }
  }
  const text = label(schema, key);
  const help = describe(schema);
  const defaultText =
    schema.default !== undefined && schema.type !== "boolean" && !schema.writeOnly && schema.default !== ""
      ? t("default_value", {
          value: Array.isArray(schema.default)
            ? schema.default.map((v) => enumLabel(resolve(schema.items, root), v)).join("、")
            : Array.isArray(schema.enum)
              ? enumLabel(schema, schema.default)
              : schema.default,
        })
      : "";
  const labelEl =
    schema.type === "array" ? h("span", { class: "label" }, text) : h("label", { for: id }, text);
  return h(
    "div",
    { class: `field ${schema.type === "boolean" ? "check" : ""}`, "data-field": path },
    labelFirst ? [labelEl, input] : h("label", { class: "choice", for: id }, input, text),
    help || defaultText ? h("p", { class: "help" }, [help, help && defaultText ? " " : "", defaultText]) : null,
    problemSlot(path),
  );
}

function setPath(target, path, value) {
  const keys = path.split(".");
  let node = target;
  keys.slice(0, -1).forEach((k) => {
    if (!node[k] || typeof node[k] !== "object") node[k] = {};
    node = node[k];
  });
  node[keys[keys.length - 1]] = value;
}

function collectSettings(form) {
  const settings = {};
  for (const el of form.querySelectorAll("[data-path]")) {
    let value;
    switch (el.dataset.kind) {
      case "boolean":
        value = el.checked;
        break;
      case "array":
        value = [...el.querySelectorAll("input:checked")].map((i) => i.value);
        break;
      case "integer": {
        const text = el.value.trim();
        if (text === "") continue;
        value = /^-?\d+$/.test(text) ? Number(text) : text;
        break;
      }
      case "secret":
        value = el.value === "" && el.dataset.set === "1" ? "********" : el.value;
        break;
      default:
        value = el.value.trim();
    }
    setPath(settings, el.dataset.path, value);
  }
  return settings;
}

/** Puts each problem under its field; the ones without a field go in a list above the form. */
function showProblems(form, problems) {
  for (const slot of form.querySelectorAll(".problem")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
  const rest = [];
  for (const problem of problems) {
    let path = String(problem.field || "").replace(/^settings\./, "").replace(/^settings$/, "");
    let slot = null;
    while (path && !slot) {
      slot = form.querySelector(`[data-problem="${CSS.escape(path)}"]`);
      if (!slot) path = path.replace(/(\[\d+\]|\.[^.[]*|^[^.[]*)$/, "");
    }
    if (!slot) {
      rest.push(problem);
      continue;
    }
    slot.hidden = false;
    slot.textContent = slot.textContent ? `${slot.textContent} / ${problemMessage(problem)}` : problemMessage(problem);
    slot.closest(".field, fieldset")?.classList.add("invalid");
  }
  const summary = form.querySelector("#form-problems");
  summary.replaceChildren();
  if (problems.length) {
    add(summary, [
      notice("error", t("problems_found", { n: problems.length })),
      rest.length ? h("ul", {}, rest.map((p) => h("li", {}, `${p.field}: ${problemMessage(p)}`))) : null,
    ]);
    form.querySelector(".invalid input, .invalid select")?.focus();
  }
}

async function pageSettings(cart, id) {
  if (!cart) return pageChooseStore("settings");
  const isNew = id === "new";
  const [schema, store] = await Promise.all([
    loadSchema(cart).catch((error) => ({ error })),
    isNew ? null : api("GET", storePath(cart, id)),
  ]);
  if (schema.error) {
    show(h("h1", {}, t("nav_settings")), notice("error", t("schema_missing", { error: errorText(schema.error) })));
    return;
  }
  const nameInput = h("input", {
    id: "f-name",
    type: "text",
    value: store ? store.name : "",
    "data-name": "1",
    "aria-describedby": "f-name-problem",
  });
  const status = h("div", { id: "form-status", "aria-live": "polite" });
  const form = h(
    "form",
    { id: "settings-form", class: "card", novalidate: true, "data-cart": cart },
    h("div", { id: "form-problems" }),
    h(
      "div",
      { class: "field", "data-field": "name" },
      h("label", { for: "f-name" }, t("store_name")),
      nameInput,
      h("p", { class: "problem", "data-problem": "name", id: "f-name-problem", hidden: true }),
    ),
    renderObject(resolve(schema, schema), store ? store.settings : undefined, "", schema),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "save" }, t("save"))),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saveButton = form.querySelector("#save");
    await busy(saveButton, async () => {
      const body = { name: nameInput.value.trim(), settings: collectSettings(form) };
      try {
        const saved = isNew
          ? await api("POST", `/${cart}/stores`, body)
          : await api("PUT", storePath(cart, id), body);
        state.stores = null;
        if (isNew) {
          state.flash = { kind: "ok", text: t("created") };
          go(`#/settings/${cart}/${encodeURIComponent(saved.id)}`);
        } else {
          showProblems(form, []);
          status.replaceChildren(notice("ok", t("saved")));
        }
      } catch (error) {
        const problems = Array.isArray(error.body.problems) ? error.body.problems : [];
        if (problems.length) showProblems(form, problems);
        else status.replaceChildren(notice("error", errorText(error)));
      }
    });
  });

  const extras = [];
  if (!isNew) {
    const result = h("div", { id: "connection-result", "aria-live": "polite" });
    const testButton = button(t("connection_test"), async () => {
      await busy(testButton, async () => {
        try {
          await api("POST", storePath(cart, id, "/connection-test"), {});
          result.replaceChildren(notice("ok", t("connection_ok")));
        } catch (error) {
          result.replaceChildren(notice("error", t("connection_failed", { error: errorText(error) })));
        }
      });
    }, { id: "connection-test" });
    const row = [testButton];
    if (cart === "base") {
      const oauthButton = button(t("base_oauth"), async () => {
        await busy(oauthButton, async () => {
          try {
            const started = await api(
              "GET",
              storePath(cart, id, `/oauth/start?return_to=${encodeURIComponent("/console/")}`),
            );
            const target = new URL(started.authorize_url);
            if (target.protocol !== "https:" && target.protocol !== "http:") throw new Error("authorize_url");
            location.assign(target.href);
          } catch (error) {
            result.replaceChildren(notice("error", errorText(error)));
          }
        });
      }, { id: "base-oauth" });
      row.push(oauthButton, h("span", { class: "help" }, t("base_oauth_help")));
    }
    extras.push(h("div", { class: "card toolbar" }, row), result);
  }
  const alerts = (store && Array.isArray(store.alerts) ? store.alerts : []).map((a) =>
    notice("error", (language() === "ja" && a.message_ja) || a.message || a.kind),
  );
  const warnings = (store && Array.isArray(store.warnings) ? store.warnings : []).map((w) =>
    notice("warn", (language() === "ja" ? w.message_ja : w.message_en) || w.code),
  );
  await loadStores();
  show(
    h("h1", {}, t("nav_settings")),
    isNew ? null : storePicker("settings", cart, id),
    h(
      "h2",
      {},
      isNew ? t("settings_new", { cart: cartName(cart) }) : t("settings_edit", { name: store.name, cart: cartName(cart) }),
    ),
    alerts,
    warnings,
    extras,
    form,
  );
}

async function pageChooseStore(page) {
  const stores = await loadStores();
  show(
    h("h1", {}, t(`nav_${page}`)),
    storePicker(page, null, null),
    stores.length ? null : h("p", { class: "muted" }, t("no_stores")),
  );
}

// ---------------------------------------------------------------------------------------------
// データ書出: preview, then write back.

function fieldsList(fields) {
  if (!fields || typeof fields !== "object") return t("none");
  return h(
    "dl",
    { class: "fields" },
    Object.entries(fields).map(([key, value]) => [
      h("dt", {}, tMaybe(`field_${key}`) || key),
      h("dd", {}, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)),
    ]),
  );
}

function outcomeBadge(outcome) {
  return h("span", { class: `badge outcome-${outcome}` }, tMaybe(`outcome_${outcome}`) || outcome || t("none"));
}

function counts(report) {
  const items = [
    ["sent", report.sent],
    ["excluded_short", report.excluded],
    ["failed", report.failed],
    ["deferred", report.deferred],
    ["imported", report.imported],
  ].filter(([, n]) => typeof n === "number");
  return h(
    "dl",
    { class: "counts" },
    items.map(([key, n]) =>
      h("div", { class: `count ${key}${n > 0 ? " nonzero" : ""}` }, h("dt", {}, t(key)), h("dd", {}, n)),
    ),
  );
}

function orderLines(lines, { failuresOnly = false } = {}) {
  const shown = (lines || []).filter((l) => !failuresOnly || l.outcome === "failed");
  return table(
    [t("order_id"), t("outcome"), t("reason_code"), t("cart_message"), t("fields_to_send")],
    shown.map((line) =>
      h(
        "tr",
        { "data-order": line.order_id, class: `line-${line.outcome}` },
        h("td", {}, line.order_id),
        h("td", {}, outcomeBadge(line.outcome)),
        h("td", { class: "code" }, line.reason_code || ""),
        h("td", {}, (language() === "ja" && line.message_ja) || line.message || line.message_ja || ""),
        h("td", {}, line.fields ? fieldsList(line.fields) : ""),
      ),
    ),
    { class: "lines" },
  );
}

async function pageExport(cart, id) {
  if (!cart) return pageChooseStore("export");
  const [store] = await Promise.all([api("GET", storePath(cart, id)), loadStores()]);
  const period = h("input", {
    id: "period-days",
    type: "text",
    inputmode: "numeric",
    class: "short",
    value: store.settings?.period_days ?? 7,
  });
  const output = h("div", { id: "export-output", "aria-live": "polite" });
  const body = () => {
    const text = period.value.trim();
    return { period_days: /^\d+$/.test(text) ? Number(text) : text };
  };
  const previewButton = button(t("preview"), async () => {
    await busy(previewButton, async () => {
      try {
        const preview = await api("POST", storePath(cart, id, "/write-back/preview"), body());
        output.replaceChildren(renderPreview(preview));
      } catch (error) {
        output.replaceChildren(notice("error", errorText(error)));
      }
    });
  }, { id: "preview" });
  const runButton = button(t("write_back"), async () => {
    await busy(runButton, async () => {
      try {
        const report = await api("POST", storePath(cart, id, "/write-back"), body());
        state.stores = null;
        output.replaceChildren(renderRunReport(cart, id, report));
      } catch (error) {
        output.replaceChildren(notice("error", errorText(error)));
      }
    });
  }, { id: "write-back", class: "primary" });
  show(
    h("h1", {}, t("nav_export")),
    storePicker("export", cart, id),
    h("h2", {}, `${store.name} (${cartName(cart)})`),
    h(
      "div",
      { class: "card" },
      h(
        "div",
        { class: "toolbar" },
        h("label", { for: "period-days" }, t("period_days")),
        period,
        h("span", {}, t("days")),
        previewButton,
        runButton,
      ),
      h("p", { class: "help" }, t("write_back_help")),
    ),
    output,
  );
}

function renderPreview(preview) {
  const planned = preview.planned || [];
  const excluded = preview.excluded || [];
  const warnings = [...(preview.warnings || []), ...(preview.order_warnings || [])];
  return h(
    "section",
    { id: "preview-result" },
    warnings.map((w) =>
      notice("warn", [w.order_id ? `${w.order_id}: ` : "", (language() === "ja" ? w.message_ja : w.message_en) || w.code]),
    ),
    h("h3", {}, t("planned", { n: planned.length })),
    planned.length
      ? table(
          [t("order_id"), t("fields_to_send")],
          planned.map((p) => h("tr", { "data-order": p.order_id }, h("td", {}, p.order_id), h("td", {}, fieldsList(p.fields)))),
          { id: "planned" },
        )
      : h("p", { class: "muted" }, t("nothing_planned")),
    h("h3", {}, t("excluded", { n: excluded.length })),
    excluded.length
      ? table(
          [t("order_id"), t("reason"), t("reason_code")],
          excluded.map((e) =>
            h(
              "tr",
              { "data-order": e.order_id },
              h("td", {}, e.order_id),
              h("td", { class: "reason" }, (language() === "ja" ? e.message_ja : e.message_en) || e.message_ja || ""),
              h("td", { class: "code" }, e.reason_code || ""),
            ),
          ),
          { id: "excluded" },
        )
      : h("p", { class: "muted" }, t("nothing_excluded")),
  );
}

function renderRunReport(cart, id, report) {
  return h(
    "section",
    { id: "run-result", "data-run": report.run_id },
    h("h3", {}, t("run_result", { id: report.run_id ?? t("none") })),
    counts(report),
    report.stopped ? notice("warn", `${t("stopped")}: ${report.stopped}`) : null,
    orderLines(report.orders),
    report.run_id !== undefined
      ? h("p", {}, h("a", { id: "see-in-log", href: `#/log/${cart}/${encodeURIComponent(id)}/${report.run_id}` }, t("see_in_log")))
      : null,
  );
}

// ---------------------------------------------------------------------------------------------
// データ取込.

async function pageImport(cart, id) {
  if (!cart) return pageChooseStore("import");
  const [store] = await Promise.all([api("GET", storePath(cart, id)), loadStores()]);
  const days = Number(store.settings?.import?.days_to_fetch) || 7;
  const from = h("input", { id: "import-from", type: "date", value: jstDate(-(days - 1)) });
  const to = h("input", { id: "import-to", type: "date", value: jstDate(0) });
  const output = h("div", { id: "import-output", "aria-live": "polite" });
  const runButton = button(t("import_run"), async () => {
    await busy(runButton, async () => {
      try {
        const report = await api("POST", storePath(cart, id, "/import"), { from: from.value, to: to.value });
        state.stores = null;
        output.replaceChildren(renderImportReport(cart, id, report));
      } catch (error) {
        output.replaceChildren(notice("error", errorText(error)));
      }
    });
  }, { id: "import", class: "primary" });
  show(
    h("h1", {}, t("nav_import")),
    storePicker("import", cart, id),
    h("h2", {}, `${store.name} (${cartName(cart)})`),
    h(
      "div",
      { class: "card" },
      h(
        "div",
        { class: "toolbar" },
        h("label", { for: "import-from" }, t("import_from")),
        from,
        h("label", { for: "import-to" }, t("import_to")),
        to,
        runButton,
      ),
      h("p", { class: "help" }, t("import_help")),
    ),
    output,
  );
}

function renderImportReport(cart, id, report) {
  const items = [
    ["fetched", report.fetched],
    ["imported", report.imported],
    ["changed", report.changed],
  ].filter(([, n]) => typeof n === "number");
  return h(
    "section",
    { id: "import-result", "data-run": report.run_id },
    h("h3", {}, t("run_result", { id: report.run_id ?? t("none") })),
    report.window ? h("p", {}, `${t("window")}: ${fmtTime(report.window.from)} – ${fmtTime(report.window.to)}`) : null,
    h("dl", { class: "counts" }, items.map(([k, n]) => h("div", { class: `count ${k}` }, h("dt", {}, t(k)), h("dd", {}, n)))),
    notice(report.complete === false ? "warn" : "ok", report.complete === false ? t("import_incomplete") : t("import_complete")),
    report.stopped ? h("p", {}, `${t("stopped")}: ${report.stopped}`) : null,
    report.run_id !== undefined
      ? h("p", {}, h("a", { href: `#/log/${cart}/${encodeURIComponent(id)}/${report.run_id}` }, t("see_in_log")))
      : null,
  );
}

// ---------------------------------------------------------------------------------------------
// 自動処理ログ.

async function pageLog(cart, id, runId) {
  if (!cart) return pageChooseStore("log");
  const [store, list] = await Promise.all([
    api("GET", storePath(cart, id)),
    api("GET", storePath(cart, id, "/runs")),
    loadStores(),
  ]);
  const runs = list.runs || [];
  const failuresOnly = state.log.failuresOnly;
  const shown = runs.filter((r) => !failuresOnly || (r.failed ?? 0) > 0);
  const filter = h("input", { id: "failures-only", type: "checkbox", checked: failuresOnly });
  filter.addEventListener("change", () => {
    state.log.failuresOnly = filter.checked;
    render();
  });
  const retryResult = h("div", { id: "retry-result", "aria-live": "polite" });
  const retryButton = button(t("retry_now"), async () => {
    await busy(retryButton, async () => {
      try {
        const report = await api("POST", storePath(cart, id, "/write-back"), {});
        state.stores = null;
        go(`#/log/${cart}/${encodeURIComponent(id)}/${report.run_id}`, true);
      } catch (error) {
        retryResult.replaceChildren(notice("error", errorText(error)));
      }
    });
  }, { id: "retry-now" });
  const base = `#/log/${cart}/${encodeURIComponent(id)}`;
  const rows = shown.map((run) =>
    h(
      "tr",
      { "data-run": run.id, class: String(run.id) === runId ? "selected" : "" },
      h("td", {}, h("a", { href: `${base}/${run.id}` }, `#${run.id}`)),
      h("td", {}, tMaybe(`kind_${run.kind}`) || run.kind),
      h("td", {}, tMaybe(`trigger_${run.trigger}`) || run.trigger),
      h("td", {}, fmtTime(run.started_at)),
      h("td", {}, run.ended_at ? fmtTime(run.ended_at) : t("running")),
      h("td", { class: "num" }, run.sent ?? 0),
      h("td", { class: "num" }, run.excluded ?? 0),
      h("td", { class: (run.failed ?? 0) > 0 ? "num failed" : "num" }, run.failed ?? 0),
      h("td", { class: "num" }, run.deferred ?? 0),
      h("td", { class: "num" }, run.imported ?? 0),
      h("td", {}, run.note || ""),
    ),
  );
  let detail = null;
  if (runId && /^\d+$/.test(runId)) {
    try {
      const run = await api("GET", storePath(cart, id, `/runs/${runId}`));
      detail = h(
        "section",
        { id: "run-detail", "data-run": run.id },
        h("h3", {}, t("run_orders", { id: run.id })),
        counts(run),
        run.note ? h("p", {}, `${t("note")}: ${run.note}`) : null,
        orderLines(run.orders, { failuresOnly }),
      );
    } catch (error) {
      detail = notice("error", errorText(error));
    }
  }
  show(
    h("h1", {}, t("nav_log")),
    storePicker("log", cart, id),
    h("h2", {}, `${store.name} (${cartName(cart)})`),
    h(
      "div",
      { class: "toolbar" },
      h("label", { class: "choice", for: "failures-only" }, filter, t("failures_only")),
      h("span", { class: "spacer" }),
      retryButton,
      h("span", { class: "help" }, t("retry_help")),
    ),
    retryResult,
    shown.length
      ? table(
          ["", t("kind"), t("trigger"), t("started"), t("ended"), t("sent"), t("excluded_short"), t("failed"), t("deferred"), t("imported"), t("note")],
          rows,
          { id: "runs" },
        )
      : h("p", { class: "muted" }, t("no_runs")),
    detail,
  );
}

// ---------------------------------------------------------------------------------------------
// Routing: #/<page>/<cart>/<store id>[/<run id>].

function go(hash, replace = false) {
  if (location.hash === hash) render();
  else if (replace) {
    history.replaceState(null, "", hash);
    render();
  } else location.hash = hash;
}

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return "";
    }
  });
  const page = ["stores", "settings", "export", "import", "log"].includes(parts[0]) ? parts[0] : "stores";
  const cart = CARTS.some((c) => c.slug === parts[1]) ? parts[1] : null;
  const id = cart && (STORE_ID.test(parts[2] || "") || (page === "settings" && parts[2] === "new")) ? parts[2] : null;
  return { page, cart: id ? cart : null, id, extra: parts[3] || null };
}

let renderCount = 0;

async function render() {
  if (!token()) return renderLogin();
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  const { page, cart, id, extra } = parseRoute();
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.page === page);
    // The store pages keep the chosen store when switching tabs.
    link.setAttribute(
      "href",
      cart && id && id !== "new" && link.dataset.page !== "stores"
        ? `#/${link.dataset.page}/${cart}/${encodeURIComponent(id)}`
        : `#/${link.dataset.page}`,
    );
  }
  const mine = ++renderCount;
  view.setAttribute("aria-busy", "true");
  try {
    if (page === "settings") await pageSettings(cart, id);
    else if (page === "export") await pageExport(cart, id);
    else if (page === "import") await pageImport(cart, id);
    else if (page === "log") await pageLog(cart, id, extra);
    else await pageStores();
  } catch (error) {
    if (error.status === 401) return;
    if (mine === renderCount) show(notice("error", `${t("error_prefix")}: ${errorText(error)}`));
  } finally {
    if (mine === renderCount) {
      view.removeAttribute("aria-busy");
      view.dataset.page = page;
    }
  }
}

function translateStatic() {
  document.title = t("app_title");
  document.getElementById("brand").textContent = t("app_title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

/** Back from BASE's authorization: `/console/?oauth=connected&store=<id>` (or `oauth=error`). */
function takeOAuthReturn() {
  const params = new URLSearchParams(location.search);
  const outcome = params.get("oauth");
  if (!outcome) return;
  const store = params.get("store") || "";
  if (outcome === "connected") state.flash = { kind: "ok", text: t("oauth_connected") };
  else {
    const reason = params.get("reason") || "";
    state.flash = { kind: "error", text: t("oauth_error", { reason: tMaybe(`oauth_reason_${reason}`) || reason }) };
  }
  const hash = STORE_ID.test(store) ? `#/settings/base/${encodeURIComponent(store)}` : "#/stores";
  // The query has done its work: keep it out of the history and of any later link.
  history.replaceState(null, "", `/console/${hash}`);
}

document.getElementById("lang").addEventListener("click", () => {
  setLanguage(language() === "ja" ? "en" : "ja");
  translateStatic();
  render();
});
document.getElementById("logout").addEventListener("click", () => {
  logout(null);
  history.replaceState(null, "", "/console/");
});
window.addEventListener("hashchange", render);

setLanguage(language());
translateStatic();
takeOAuthReturn();
render();
