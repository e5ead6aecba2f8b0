// The booking widget: steps of the booking form, the manage page and "my bookings".
import { ApiError, Offline, call, userToken } from "./api.js";
import { fill, h, icsFile, parseStamp } from "./dom.js";
import { applyTheme } from "./theme.js";

const root = document.documentElement;
const FORM_ID = Number(root.dataset.form);
const VIEW = root.dataset.view;
const main = document.getElementById("main");
const header = document.getElementById("top");
const live = document.getElementById("live");
const S = { form: null, strings: {}, lang: "", cache: new Map() };
const CONTACT = "openbooking-contact-" + FORM_ID;
const CODE_ATTEMPTS = Number(root.dataset.codeAttempts) || 5;

// What a wrong code means for the tries this tab has made since the code was sent (the server
// counts them too, and answers every dead code alike).
function wrongCode(wrong) {
  const left = CODE_ATTEMPTS - wrong;
  return left > 0 ? t("widget.wrong_code_left", { n: left }) : t("widget.code_spent");
}

// ------------------------------------------------------------------ strings and state

function t(key, values = {}) {
  let node = S.strings;
  for (const part of key.split(".")) node = node && typeof node === "object" ? node[part] : undefined;
  const text = typeof node === "string" ? node : key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : ""));
}

const params = () => new URLSearchParams(location.search);

function go(changes, { replace = false } = {}) {
  const next = params();
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") next.delete(name);
    else next.set(name, String(value));
  }
  const url = location.pathname + (next.toString() ? "?" + next : "");
  history[replace ? "replaceState" : "pushState"](null, "", url);
  render();
}

function announce(text) {
  live.textContent = "";
  setTimeout(() => (live.textContent = text), 50);
}

async function cached(path, query) {
  const key = path + JSON.stringify(query || {});
  if (!S.cache.has(key)) {
    S.cache.set(key, call("GET", path, { query }).catch((error) => {
      S.cache.delete(key);
      throw error;
    }));
  }
  return S.cache.get(key);
}

const contact = {
  get: () => JSON.parse(sessionStorage.getItem(CONTACT) || "{}"),
  set: (value) => sessionStorage.setItem(CONTACT, JSON.stringify(value)),
};

// ------------------------------------------------------------------ formatting

function money(value, currency) {
  try {
    return new Intl.NumberFormat(S.lang, { style: "currency", currency: currency || "EUR" }).format(value);
  } catch {
    return String(value);
  }
}

function priceRange(service, currency) {
  const low = money(service.price_min, currency);
  return service.price_max > service.price_min ? low + " – " + money(service.price_max, currency) : low;
}

function minutes(seconds) {
  const total = Math.round(seconds / 60);
  const hours = Math.floor(total / 60);
  const rest = total % 60;
  return [hours ? hours + " " + t("h") : "", rest ? rest + " " + t("m") : ""].filter(Boolean).join(" ");
}

function dayLabel(day, options = { weekday: "long", day: "numeric", month: "long" }) {
  const [y, m, d] = day.split("-").map(Number);
  return new Intl.DateTimeFormat(S.lang, { ...options, timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)));
}

function wallClock(stamp) {
  // "2026-12-03T11:00:00+01:00" or "+0100": the location's own date and time, as written.
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(stamp);
  return match ? { day: match[1], time: match[2] } : { day: "", time: "" };
}

// ------------------------------------------------------------------ shared pieces

function heading(text, note) {
  const title = h("h2", { id: "step-title", tabindex: "-1" }, text);
  return [title, note ? h("p", { class: "muted" }, note) : null];
}

function focusTitle(text) {
  const title = document.getElementById("step-title");
  if (title) title.focus({ preventScroll: false });
  announce(text || (title ? title.textContent : ""));
  notifyHeight();
}

function errorBox(error, retry) {
  let text = t("widget.error");
  if (error instanceof Offline) text = t("widget.offline");
  else if (error instanceof ApiError && error.status === 429) {
    text = t("widget.too_many", { s: error.retryAfter || 60 });
  } else if (error instanceof ApiError && error.message) text = error.message;
  return h("div", { class: "alert", role: "alert" }, h("p", {}, text),
    retry ? h("button", { type: "button", class: "secondary", onclick: retry }, t("widget.retry")) : null);
}

function showError(error, retry) {
  fill(main, errorBox(error, retry));
  main.querySelector("button")?.focus();
  notifyHeight();
}

function backButton(onclick) {
  return h("button", { type: "button", class: "link back", onclick }, "← " + t("back"));
}

function field(id, label, input, hint) {
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    hint ? h("p", { class: "muted small", id: id + "-hint" }, hint) : null);
}

function notifyHeight() {
  if (window.parent !== window) {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({ openbooking: "height", form: FORM_ID, height }, "*");
  }
}

// ------------------------------------------------------------------ the booking steps

function configured(name) {
  return S.form.steps.find((step) => step.step === name) || null;
}

// A hidden step is skipped with its default: a hidden team member step books "any team member"
// (or its default member), a hidden service step its default service.
function hiddenDefault(name) {
  const step = configured(name);
  if (!step || !step.hidden) return null;
  if (name === "master") return step.default > 0 ? step.default : 0;
  if (name === "service" && step.default > 0) return step.default;
  return null;
}

function steps() {
  return S.form.steps.filter((step) => {
    if (step.step === "confirm" || step.step === "city") return false;
    if (step.step === "company") return S.chainForm;
    return hiddenDefault(step.step) === null;
  });
}

function chosen() {
  const p = params();
  const hiddenService = hiddenDefault("service");
  const hiddenMaster = hiddenDefault("master");
  return {
    company: Number(p.get("company")) || (S.chainForm ? 0 : S.form.company_id),
    services: hiddenService !== null ? [hiddenService] : (p.get("services") || "").split(",").filter(Boolean).map(Number),
    staff: hiddenMaster !== null ? hiddenMaster : p.has("staff") ? Number(p.get("staff")) : null,
    date: p.get("date") || "",
    time: p.get("time") || "",
  };
}

function done(step, c) {
  switch (step.step) {
    case "company": return Boolean(c.company);
    case "service": return c.services.length > 0;
    case "master": return c.staff !== null;
    case "datetime": return Boolean(c.time);
    case "contact": return Boolean(contact.get().saved);
    default: return true;
  }
}

function currentStep() {
  const c = chosen();
  const list = steps();
  const wanted = params().get("step");
  if (wanted === "done" && S.booked) return { step: "done" };
  for (const step of list) {
    if (wanted === step.step) return step;
    if (!done(step, c)) return step;
  }
  return { step: "confirm" };
}

function nextStep(step) {
  const list = steps();
  const index = list.findIndex((item) => item.step === step);
  return index >= 0 && index + 1 < list.length ? list[index + 1].step : "confirm";
}

function previousStep(step) {
  const list = steps();
  const index = list.findIndex((item) => item.step === step);
  if (step === "confirm") return list[list.length - 1].step;
  return index > 0 ? list[index - 1].step : null;
}

function progress(step) {
  const list = steps();
  const index = list.findIndex((item) => item.step === step);
  const total = list.length + 1;
  const number = step === "confirm" ? total : index + 1;
  return h("p", { class: "progress muted small" }, t("widget.step_of", { n: number, total }));
}

function stepTitle(step, fallback) {
  const configured = S.form.steps.find((item) => item.step === step);
  return (configured && configured.title && !configured.is_title_default && configured.title) || t(fallback);
}

async function renderBooking() {
  const step = currentStep();
  const c = chosen();
  const views = { company: viewCompany, service: viewService, master: viewMaster, datetime: viewDatetime,
    contact: viewContact, confirm: viewConfirm, done: viewDone };
  const view = views[step.step] || viewConfirm;
  await view(c, step);
}

function stepFrame(step, title, ...body) {
  const previous = previousStep(step);
  fill(main, 
    h("section", { class: "step", "aria-labelledby": "step-title" },
      previous ? backButton(() => go({ step: previous })) : null,
      progress(step), ...heading(title), ...body),
  );
  focusTitle();
}

async function viewCompany() {
  const companies = await cached("/companies", { group_id: S.form.group_id, active: 1 });
  stepFrame("company", stepTitle("company", "widget.step_company"),
    h("ul", { class: "choices" }, companies.map((company) => h("li", {},
      h("button", { type: "button", class: "choice", onclick: () => go({ company: company.id, services: null, staff: null, date: null, time: null, step: nextStep("company") }) },
        h("strong", {}, company.title), h("span", { class: "muted" }, [company.city, company.address].filter(Boolean).join(", ")))))));
}

async function companyOf(c) {
  return cached("/company/" + c.company);
}

async function viewService(c) {
  const company = await companyOf(c);
  const data = await cached("/book_services/" + c.company, { staff_id: c.staff || "" });
  const preset = configured("service");
  const picked = new Set(c.services.length ? c.services : preset && preset.default > 0 ? [preset.default] : []);
  const boxes = [];
  const groups = (data.category || []).map((category) => {
    const items = data.services.filter((service) => service.category_id === category.id);
    if (!items.length) return null;
    return h("fieldset", { class: "group" }, h("legend", {}, category.title),
      items.map((service) => {
        const id = "service-" + service.id;
        const box = h("input", { type: "checkbox", id, value: service.id, checked: picked.has(service.id) });
        boxes.push(box);
        return h("div", { class: "check" }, box, h("label", { for: id },
          h("span", { class: "name" }, service.title),
          h("span", { class: "muted small" }, [priceRange(service, company.currency_short_title), minutes(service.seance_length)].join(" · ")),
          service.comment ? h("span", { class: "muted small" }, service.comment) : null));
      }));
  });
  const problem = h("p", { class: "error", id: "service-error", role: "alert" });
  stepFrame("service", stepTitle("service", "widget.step_service"),
    h("p", { class: "muted" }, t("widget.services_hint")),
    h("form", { onsubmit: (event) => {
      event.preventDefault();
      const ids = boxes.filter((box) => box.checked).map((box) => box.value);
      if (!ids.length) { problem.textContent = t("widget.choose_service"); return; }
      go({ services: ids.join(","), date: null, time: null, step: nextStep("service") });
    } }, groups, problem, h("button", { type: "submit", class: "primary" }, t("widget.next"))));
}

function staffLabel(member) {
  return S.form.specialization_display_mode === 1 && member.position ? member.position.title : member.specialization;
}

async function viewMaster(c) {
  const staff = await cached("/book_staff/" + c.company, { service_ids: c.services.join(",") });
  const pick = (id) => go({ staff: id, date: null, time: null, step: nextStep("master") });
  stepFrame("master", stepTitle("master", "widget.step_master"),
    h("ul", { class: "choices" },
      h("li", {}, h("button", { type: "button", class: "choice", "aria-pressed": String(c.staff === 0), onclick: () => pick(0) },
        h("strong", {}, t("widget.any_master")), h("span", { class: "muted" }, t("widget.any_master_hint")))),
      staff.filter((member) => member.bookable).map((member) => h("li", {},
        h("button", { type: "button", class: "choice", "aria-pressed": String(c.staff === member.id), onclick: () => pick(member.id) },
          h("strong", {}, member.name), h("span", { class: "muted" }, staffLabel(member) || ""))))));
}

// A month calendar (days with free time are buttons) and the free times of the chosen day.
function slotPicker({ company, staff, services, day, onDay, onTime, message }) {
  const box = h("div", { class: "picker" });
  const query = { staff_id: staff || 0, service_ids: services.join(",") };
  let month = day ? day.slice(0, 7) : "";

  async function draw() {
    fill(box, h("p", { class: "muted" }, t("widget.loading")));
    let dates;
    try {
      dates = await cached("/book_dates/" + company, { ...query, date: month ? month + "-01" : "" });
    } catch (error) {
      fill(box, errorBox(error, draw));
      return;
    }
    const free = new Set(dates.booking_dates);
    const working = new Set(dates.working_dates);
    if (!month) month = (dates.booking_dates[0] || new Date().toISOString()).slice(0, 7);
    const [y, m] = month.split("-").map(Number);
    const first = new Date(Date.UTC(y, m - 1, 1));
    const length = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const offset = (first.getUTCDay() + 6) % 7;
    const names = [...Array(7)].map((_, i) => new Intl.DateTimeFormat(S.lang, { weekday: "short", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + i))));
    const cells = [];
    for (let i = 0; i < offset; i++) cells.push(h("span", { class: "day blank", "aria-hidden": "true" }));
    for (let d = 1; d <= length; d++) {
      const iso = month + "-" + String(d).padStart(2, "0");
      const label = dayLabel(iso);
      if (free.has(iso)) {
        cells.push(h("button", { type: "button", class: "day free" + (iso === day ? " selected" : ""), "aria-pressed": String(iso === day), "aria-label": label + ", " + t("widget.free_day"), onclick: () => onDay(iso) }, d));
      } else {
        cells.push(h("span", { class: "day" + (working.has(iso) ? " busy" : " closed"), "aria-hidden": "true" }, d));
      }
    }
    const shift = (delta) => {
      const next = new Date(Date.UTC(y, m - 1 + delta, 1));
      month = next.toISOString().slice(0, 7);
      draw().then(() => box.querySelector(delta > 0 ? ".next-month" : ".prev-month")?.focus());
    };
    const today = new Date().toISOString().slice(0, 7);
    const monthTitle = new Intl.DateTimeFormat(S.lang, { month: "long", year: "numeric", timeZone: "UTC" }).format(first);
    fill(box, 
      h("div", { class: "month" },
        h("div", { class: "month-head" },
          h("button", { type: "button", class: "icon prev-month", "aria-label": t("widget.prev_month"), disabled: month <= today, onclick: () => shift(-1) }, "‹"),
          h("h3", { id: "month-title" }, monthTitle),
          h("button", { type: "button", class: "icon next-month", "aria-label": t("widget.next_month"), onclick: () => shift(1) }, "›")),
        h("div", { class: "weekdays", "aria-hidden": "true" }, names.map((name) => h("span", {}, name))),
        h("div", { class: "days", role: "group", "aria-labelledby": "month-title" }, cells)),
      free.size ? null : h("p", { class: "muted" }, t("widget.no_days")),
      h("div", { class: "times", id: "times" }));
    if (day) await drawTimes();
    notifyHeight();
  }

  async function drawTimes() {
    const holder = box.querySelector("#times");
    fill(holder, h("p", { class: "muted" }, t("widget.loading")));
    let times;
    try {
      times = await call("GET", `/book_times/${company}/${staff || 0}/${day}`, { query: { service_ids: services.join(",") } });
    } catch (error) {
      fill(holder, errorBox(error, drawTimes));
      return;
    }
    const parts = { morning: [], afternoon: [], evening: [] };
    for (const slot of times) {
      const hour = Number(slot.time.slice(0, 2));
      parts[hour < 12 ? "morning" : hour < 17 ? "afternoon" : "evening"].push(slot);
    }
    fill(holder, 
      h("h3", { id: "times-title", tabindex: "-1" }, dayLabel(day)),
      message ? h("p", { class: "alert", role: "alert" }, message) : null,
      times.length ? null : h("p", { class: "muted" }, t("widget.no_slots")),
      Object.entries(parts).filter(([, slots]) => slots.length).map(([part, slots]) =>
        h("div", { class: "part", role: "group", "aria-labelledby": "part-" + part },
          h("h4", { id: "part-" + part }, t("widget." + part)),
          h("div", { class: "slots" }, slots.map((slot) => h("button", { type: "button", class: "slot", onclick: () => onTime(slot.datetime) }, slot.time))))));
    notifyHeight();
  }

  draw();
  return box;
}

async function viewDatetime(c, _step, message) {
  const title = stepTitle("datetime", "widget.step_datetime");
  const picker = slotPicker({
    company: c.company, staff: c.staff, services: c.services, day: c.date,
    message: message || (params().get("taken") ? t("widget.slot_taken") : ""),
    onDay: (day) => go({ date: day, time: null, taken: null }, { replace: true }),
    onTime: (stamp) => go({ time: stamp, date: wallClock(stamp).day, taken: null, step: nextStep("datetime") }),
  });
  stepFrame("datetime", title, picker);
  if (c.date) {
    // Back on a chosen day (a reload, or a slot taken meanwhile): its times have the focus.
    const wait = setInterval(() => {
      const times = document.getElementById("times-title");
      if (times) { clearInterval(wait); times.focus(); }
    }, 50);
    setTimeout(() => clearInterval(wait), 5000);
  }
}

async function viewContact(c) {
  const company = await companyOf(c);
  const saved = contact.get();
  const input = (id, attrs) => h("input", { id, name: id, ...attrs });
  const name = input("name", { autocomplete: "name", required: true, maxlength: 255, value: saved.name || "" });
  const phone = input("phone", { type: "tel", autocomplete: "tel", required: true, maxlength: 32, value: saved.phone || "", "aria-describedby": "phone-hint" });
  const email = input("email", { type: "email", autocomplete: "email", required: Boolean(company.booking_email_required), maxlength: 255, value: saved.email || "" });
  const comment = h("textarea", { id: "comment", name: "comment", rows: 3, maxlength: 1000, required: Boolean(company.booking_comment_required) }, saved.comment || "");
  const required = (label, on) => (on ? label + " *" : label);
  let consent = null;
  let policy = null;
  if (S.form.is_show_privacy_policy) {
    consent = h("input", { type: "checkbox", id: "consent", required: true });
    policy = h("div", { class: "policy", hidden: true, id: "policy-text", tabindex: "-1" });
  }
  const problem = h("div", { id: "contact-error" });
  const form = h("form", { novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    for (const box of [name, phone, email, comment]) box.removeAttribute("aria-invalid");
    const bad = [name, phone, email, comment].find((box) => !box.checkValidity()) || (consent && !consent.checked ? consent : null);
    if (bad) {
      bad.setAttribute("aria-invalid", "true");
      fill(problem, h("p", { class: "error", role: "alert" }, bad === consent ? t("widget.consent_required") : t("widget.fill_in", { field: document.querySelector(`label[for=${bad.id}]`).textContent.replace(" *", "") })));
      bad.focus();
      return;
    }
    contact.set({ name: name.value.trim(), phone: phone.value.trim(), email: email.value.trim(), comment: comment.value.trim(), saved: true });
    go({ step: "confirm" });
  } },
  field("name", required(t("widget.name"), true), name),
  field("phone", required(t("widget.phone"), true), phone, t("widget.phone_hint")),
  field("email", required(t("widget.email"), company.booking_email_required), email),
  field("comment", required(company.booking_comment_input_name || S.form.comment_input_name || t("widget.comment"), company.booking_comment_required), comment),
  company.booking_notify_text || S.form.booking_notify_text ? h("p", { class: "notice" }, company.booking_notify_text || S.form.booking_notify_text) : null,
  consent ? h("div", { class: "check" }, consent, h("label", { for: "consent" }, t("widget.consent"))) : null,
  consent ? h("button", { type: "button", class: "link", "aria-controls": "policy-text", "aria-expanded": "false", onclick: async (event) => {
    const button = event.currentTarget;
    if (!policy.hidden) { policy.hidden = true; button.setAttribute("aria-expanded", "false"); return; }
    try {
      const text = await cached("/privacy_policy/" + c.company);
      fill(policy, h("p", {}, (text.agreement || text).content || ""));
    } catch (error) {
      fill(policy, errorBox(error));
    }
    policy.hidden = false;
    button.setAttribute("aria-expanded", "true");
    notifyHeight();
  } }, t("widget.privacy_policy")) : null,
  policy, problem,
  h("button", { type: "submit", class: "primary" }, t("widget.next")));
  stepFrame("contact", stepTitle("contact", "widget.step_contact"), form);
}

function summary(c, company, staffName, services, person) {
  const day = wallClock(c.time);
  return h("dl", { class: "summary" },
    S.chainForm ? [h("dt", {}, t("record.place")), h("dd", {}, company.title, h("br"), company.address)] : null,
    h("dt", {}, t("record.services")), h("dd", {}, services.map((service) => service.title).join(", ")),
    h("dt", {}, t("record.master")), h("dd", {}, staffName),
    h("dt", {}, t("address.date_and_time")), h("dd", {}, dayLabel(day.day) + ", " + day.time),
    h("dt", {}, t("widget.name")), h("dd", {}, person.name),
    h("dt", {}, t("widget.phone")), h("dd", {}, person.phone));
}

async function viewConfirm(c) {
  const company = await companyOf(c);
  const person = contact.get();
  const services = (await cached("/book_services/" + c.company, {})).services.filter((service) => c.services.includes(service.id));
  const staff = await cached("/book_staff/" + c.company, { service_ids: c.services.join(",") });
  const member = staff.find((item) => item.id === c.staff);
  const appointment = { id: 1, services: c.services, staff_id: c.staff || 0, datetime: c.time };
  const backToTimes = () => go({ step: "datetime", time: null, date: wallClock(c.time).day, taken: 1 });
  try {
    await call("POST", "/book_check/" + c.company, { body: { appointments: [appointment] } });
  } catch (error) {
    if (error instanceof ApiError && error.code === 433) return backToTimes();
    throw error;
  }
  const needsCode = Boolean(company.phone_confirmation);
  const problem = h("div", { id: "confirm-error" });
  const code = needsCode ? h("input", { id: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 8, required: true, "aria-describedby": "code-hint" }) : null;
  const resend = h("button", { type: "button", class: "secondary", onclick: () => sendCode() }, t("widget.resend"));
  const countdown = h("p", { class: "muted small", "aria-live": "polite" });
  let timer = null;

  function wait(seconds) {
    clearInterval(timer);
    let left = seconds;
    resend.disabled = true;
    const tick = () => {
      if (left <= 0) { clearInterval(timer); resend.disabled = false; countdown.textContent = ""; return; }
      countdown.textContent = t("widget.resend_in", { s: left });
      left -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  async function sendCode() {
    fill(problem);
    try {
      await call("POST", "/book_code/" + c.company, { body: { phone: person.phone, fullname: person.name } });
      S.wrongCodes = 0;
      wait(60);
      announce(t("widget.code_sent", { phone: person.phone }));
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) wait(error.retryAfter || 60);
      if (error instanceof ApiError && error.status === 422) {
        fill(problem, h("p", { class: "error", role: "alert" }, t("widget.bad_phone")));
        return;
      }
      fill(problem, errorBox(error));
    }
  }

  const book = h("button", { type: "submit", class: "primary" }, t("widget.book"));
  const form = h("form", { novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    fill(problem);
    if (code && !code.value.trim()) {
      code.setAttribute("aria-invalid", "true");
      fill(problem, h("p", { class: "error", role: "alert" }, t("widget.code_required")));
      code.focus();
      return;
    }
    book.disabled = true;
    try {
      const body = { phone: person.phone, fullname: person.name, email: person.email, comment: person.comment, appointments: [appointment] };
      if (code) body.code = code.value.trim();
      // The same key for every try of this booking: a retry after a lost answer books once.
      S.bookingKey = S.bookingKey || Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      const booked = await call("POST", "/book_record/" + c.company, { body, headers: { "Idempotency-Key": S.bookingKey } });
      S.bookingKey = null;
      S.booked = { company: c.company, id: booked[0].record_id, hash: booked[0].record_hash };
      sessionStorage.removeItem(CONTACT);
      go({ step: "done" });
    } catch (error) {
      book.disabled = false;
      if (error instanceof ApiError) S.bookingKey = null; // refused: the next try is a new request
      if (error instanceof ApiError && error.code === 433) return backToTimes();
      if (error instanceof ApiError && error.code === 432) {
        code.setAttribute("aria-invalid", "true");
        S.wrongCodes = (S.wrongCodes || 0) + 1;
        fill(problem, h("p", { class: "error", role: "alert" }, wrongCode(S.wrongCodes)));
        code.focus();
        return;
      }
      if (error instanceof ApiError && error.code === 431) {
        fill(problem, h("p", { class: "error", role: "alert" }, t("widget.bad_phone")), h("button", { type: "button", class: "link", onclick: () => go({ step: "contact" }) }, t("widget.edit_contact")));
        return;
      }
      fill(problem, errorBox(error));
      problem.querySelector("[role=alert]")?.focus?.();
    }
  } },
  summary(c, company, member ? member.name : t("widget.any_master"), services, person),
  code ? [h("p", { id: "code-hint" }, t("widget.code_sent", { phone: person.phone })), field("code", t("widget.code"), code), h("div", { class: "row" }, resend), countdown] : null,
  problem, book);
  stepFrame("confirm", t("widget.step_confirm"), form);
  if (needsCode && S.codeSentFor !== person.phone + c.time) {
    S.codeSentFor = person.phone + c.time;
    await sendCode();
  }
}

function calendarLink(record) {
  const start = parseStamp(record.datetime);
  const text = icsFile({
    uid: `record-${record.id}@openbooking`,
    title: record.services.map((service) => service.title).join(", ") + " — " + record.company.title,
    location: record.company.title + ", " + record.company.address,
    start,
    seconds: record.length || 3600,
    description: record.staff ? record.staff.name : "",
  });
  const url = URL.createObjectURL(new Blob([text], { type: "text/calendar" }));
  return h("a", { class: "button secondary", href: url, download: "booking.ics" }, t("widget.add_calendar"));
}

function recordDetails(record) {
  const when = wallClock(record.datetime);
  return h("dl", { class: "summary" },
    h("dt", {}, t("record.place")), h("dd", {}, record.company.title, h("br"), record.company.address),
    h("dt", {}, t("record.services")), h("dd", {}, record.services.map((service) => service.title).join(", ")),
    h("dt", {}, t("record.master")), h("dd", {}, record.staff ? record.staff.name : ""),
    h("dt", {}, t("address.date_and_time")), h("dd", {}, dayLabel(when.day) + ", " + when.time));
}

async function viewDone() {
  if (!S.booked) return go({ step: null }, { replace: true });
  const { company, id, hash } = S.booked;
  const record = await call("GET", `/book_record/${company}/${id}/${hash}`);
  const manage = `/r/${company}/${id}/${hash}`;
  fill(main, h("section", { class: "step done" },
    ...heading(t("record.booking_success")),
    recordDetails(record),
    h("div", { class: "row" }, calendarLink(record),
      h("a", { class: "button secondary", href: manage, target: "_top" }, t("widget.manage_link"))),
    h("button", { type: "button", class: "link", onclick: () => { S.booked = null; history.pushState(null, "", location.pathname); render(); } }, t("record.create_new_record"))));
  focusTitle();
}

// ------------------------------------------------------------------ manage, reschedule, log in

function delayText(seconds) {
  return minutes(seconds);
}

function refusal(company, what) {
  if (what === "cancel") {
    return company.allow_delete_record
      ? t("record.error_cancel_record_new2_1") + " " + delayText(company.allow_delete_record_delay_step) + " " + t("record.error_cancel_record_new2_2")
      : t("record.error_cancel_record_new1");
  }
  return company.allow_change_record
    ? t("record.error_change_record_time2_1") + " " + delayText(company.allow_change_record_delay_step) + " " + t("record.error_change_record_time2_2")
    : t("record.error_change_record_time");
}

function allowed(record, what) {
  const company = record.company;
  const on = what === "cancel" ? company.allow_delete_record : company.allow_change_record;
  const delay = what === "cancel" ? company.allow_delete_record_delay_step : company.allow_change_record_delay_step;
  return on && parseStamp(record.datetime).getTime() - Date.now() > (delay || 0) * 1000;
}

function loginPanel(companyId, onDone, note) {
  const phone = h("input", { id: "login-phone", type: "tel", autocomplete: "tel", required: true, maxlength: 32 });
  const code = h("input", { id: "login-code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 8 });
  const problem = h("div");
  const codePart = h("div", { hidden: true }, field("login-code", t("widget.code"), code));
  const submit = h("button", { type: "submit", class: "primary" }, t("widget.send_code"));
  let sent = false;
  let wrong = 0;
  return h("form", { class: "login", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    fill(problem);
    try {
      if (!sent) {
        await call("POST", "/book_code/" + companyId, { body: { phone: phone.value.trim() } });
        sent = true;
        codePart.hidden = false;
        submit.textContent = t("widget.login");
        announce(t("widget.code_sent", { phone: phone.value.trim() }));
        code.focus();
        notifyHeight();
        return;
      }
      const answer = await call("POST", "/user/auth", { body: { phone: phone.value.trim(), code: code.value.trim() } });
      userToken.set(answer.user_token);
      onDone();
    } catch (error) {
      let text = null;
      if (error instanceof ApiError && error.status === 422) text = sent ? wrongCode(++wrong) : t("widget.bad_phone");
      fill(problem, text ? h("p", { class: "error", role: "alert" }, text) : errorBox(error));
    }
  } }, note ? h("p", {}, note) : null, field("login-phone", t("widget.phone"), phone), codePart, problem, submit);
}

function reschedulePanel(record, onDone) {
  const holder = h("div", { class: "reschedule" });
  const companyId = record.company.id;
  const staff = record.master_requested && record.staff ? record.staff.id : 0;
  const services = record.services.map((service) => service.id);
  let day = wallClock(record.datetime).day;
  const draw = (message) => {
    fill(holder, h("h3", { id: "reschedule-title", tabindex: "-1" }, t("record.change_record_time")),
      slotPicker({ company: companyId, staff, services, day, message,
        onDay: (next) => { day = next; draw(); holder.querySelector("#times-title")?.focus(); },
        onTime: async (stamp) => {
          try {
            await call("PUT", `/book_record/${companyId}/${record.id}`, { body: { datetime: stamp }, user: true });
            announce(t("widget.rescheduled"));
            onDone(t("widget.rescheduled"));
          } catch (error) {
            if (error instanceof ApiError && error.code === 433) return draw(t("widget.slot_taken"));
            if (error instanceof ApiError && error.status === 403) return draw(refusal(record.company, "change"));
            if (error instanceof ApiError && error.status === 401) { userToken.clear(); return onDone(); }
            holder.append(errorBox(error));
          }
        } }));
    holder.querySelector("#reschedule-title").focus();
  };
  draw();
  return holder;
}

function recordActions(record, { hash, after }) {
  const actions = h("div", { class: "row" });
  const notes = h("div");
  const cancel = h("button", { type: "button", class: "danger", onclick: async () => {
    if (!allowed(record, "cancel")) {
      fill(notes, h("p", { class: "alert", role: "alert" }, refusal(record.company, "cancel")));
      return;
    }
    if (!window.confirm(t("record.confirm_cancel_record"))) return;
    try {
      if (hash) await call("DELETE", `/user/records/${record.id}/${hash}`);
      else await call("DELETE", `/user/records/${record.id}`, { user: true });
      after(t("record.is_canceled_success"));
    } catch (error) {
      fill(notes, error instanceof ApiError && error.status === 403
        ? h("p", { class: "alert", role: "alert" }, refusal(record.company, "cancel")) : errorBox(error));
    }
  } }, t("record.cancel_record"));
  const move = h("button", { type: "button", class: "secondary", onclick: () => {
    if (!allowed(record, "change")) {
      fill(notes, h("p", { class: "alert", role: "alert" }, refusal(record.company, "change")));
      return;
    }
    const open = () => fill(notes, reschedulePanel(record, (message) => after(message)));
    if (userToken.get()) open();
    else {
      fill(notes, loginPanel(record.company.id, open, t("widget.login_to_reschedule")));
      notes.querySelector("input").focus();
    }
    notifyHeight();
  } }, t("record.change_record_time"));
  if (!record.deleted) actions.append(move, cancel);
  return [actions, notes];
}

async function renderManage() {
  const [, , company, id, hash] = location.pathname.split("/");
  const show = async (message) => {
    const record = await call("GET", `/book_record/${company}/${id}/${hash}`);
    fill(main, h("section", { class: "step" },
      ...heading(record.deleted ? t("record.is_canceled") : t("record.record")),
      message ? h("p", { class: "success", role: "status" }, message) : null,
      recordDetails(record),
      record.deleted ? null : h("div", { class: "row" }, calendarLink(record)),
      recordActions(record, { hash, after: (note) => show(note) })));
    focusTitle(message);
  };
  await show();
}

async function renderMine() {
  const companyId = chosen().company || S.form.company_id;
  if (!userToken.get()) {
    fill(main, h("section", { class: "step" }, ...heading(t("widget.my_bookings")),
      loginPanel(companyId, () => render(), t("widget.login_hint"))));
    focusTitle();
    return;
  }
  const show = async (message) => {
    let records;
    try {
      records = await call("GET", "/user/records/1", { user: true });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) { userToken.clear(); render(); return; }
      throw error;
    }
    const now = Date.now();
    const at = (record) => parseStamp(record.datetime).getTime();
    const upcoming = records.filter((record) => !record.deleted && at(record) >= now).sort((a, b) => at(a) - at(b));
    const past = records.filter((record) => record.deleted || at(record) < now).sort((a, b) => at(b) - at(a));
    const list = (items, actions) => items.length
      ? h("ul", { class: "records" }, items.map((record) => h("li", { class: "card" }, recordDetails(record),
        record.deleted ? h("p", { class: "muted" }, t("record.is_canceled")) : null,
        actions ? recordActions(record, { after: (note) => show(note) }) : null)))
      : h("p", { class: "muted" }, t("widget.none"));
    fill(main, h("section", { class: "step" }, ...heading(t("widget.my_bookings")),
      message ? h("p", { class: "success", role: "status" }, message) : null,
      h("h3", {}, t("record.future_records")), list(upcoming, true),
      h("h3", {}, t("record.past_records")), list(past, false),
      h("button", { type: "button", class: "secondary", onclick: () => { userToken.clear(); go({ view: null }); announce(t("widget.logged_out")); } }, t("widget.logout"))));
    focusTitle(message);
  };
  await show();
}

// ------------------------------------------------------------------ header, boot

function drawHeader() {
  const logo = S.form.style.logo_full || S.form.style.logo;
  const select = h("select", { id: "lang", onchange: (event) => go({ lang: event.target.value }) },
    S.form.langs.map((lang) => h("option", { value: lang.code, selected: lang.code === S.lang }, lang.title)));
  const mine = params().get("view") === "my";
  fill(header, 
    logo ? h("img", { src: logo, alt: "", class: "logo" }) : null,
    h("h1", {}, document.title),
    h("nav", { "aria-label": t("widget.menu") },
      VIEW === "book" ? h("button", { type: "button", class: "link", "aria-current": mine ? "page" : false, onclick: () => go({ view: mine ? null : "my", step: null }) }, mine ? t("widget.book_now") : t("widget.my_bookings")) : null,
      S.form.langs.length > 1 ? h("span", { class: "lang" }, h("label", { for: "lang", class: "sr-only" }, t("widget.language")), select) : null));
}

async function loadStrings() {
  const wanted = params().get("lang");
  const codes = S.form.langs.map((lang) => lang.code);
  const lang = codes.includes(wanted) ? wanted : S.form.lang;
  if (lang !== S.lang) {
    S.strings = await call("GET", "/i18n/" + lang);
    S.lang = lang;
    root.lang = lang;
  }
}

// One render at a time, in order: a click during a slow render draws after it, not under it.
// (Never await render() inside a render: it would wait for itself.)
let rendering = Promise.resolve();

function render() {
  rendering = rendering.then(renderNow);
  return rendering;
}

async function renderNow() {
  try {
    await loadStrings();
    drawHeader();
    if (VIEW === "manage") await renderManage();
    else if (params().get("view") === "my") await renderMine();
    else await renderBooking();
  } catch (error) {
    showError(error, () => render());
  }
  notifyHeight();
}

async function boot() {
  try {
    S.form = await call("GET", "/bookform/" + FORM_ID);
  } catch (error) {
    showError(error, () => boot());
    return;
  }
  S.chainForm = S.form.steps.some((step) => step.step === "company");
  applyTheme(S.form.style || {});
  window.addEventListener("popstate", () => render());
  // In the embed snippet's overlay, Escape closes it (the keys go to this frame). On keyup: the
  // frame is removed once the whole key press has been handled here.
  document.addEventListener("keyup", (event) => {
    if (event.key === "Escape" && window.parent !== window) {
      window.parent.postMessage({ openbooking: "close", form: FORM_ID }, "*");
    }
  });
  new ResizeObserver(() => notifyHeight()).observe(document.body);
  render();
}

boot();
