// The business page: log in, the day view, a booking's details and actions, walk-ins, blocked
// time, polling for changes, a printable list. Plain ES modules, no build step.
import { ApiError, call } from "./api.js";
import { addDays, announce, h, hhmm, minutesOf, nowIn } from "./dom.js";

const POLL_SECONDS = 5;
const PX_PER_MINUTE = 1.2;
const ATTENDANCE = { 2: "confirmed", 1: "came", 0: "waiting", "-1": "no-show" };
const main = document.getElementById("main");
const top = document.getElementById("top");
const dialog = document.getElementById("dialog");
const state = { me: null, company: null, staff: [], services: [], day: null, records: [], timer: null, since: null };

function problem(error) {
  if (error instanceof ApiError) {
    const listed = error.errors.filter((item) => item && item.message).map((item) => item.message);
    return [error.message, ...listed.filter((text) => text !== error.message)].join(" · ");
  }
  return "The server cannot be reached.";
}

// ---- log in / log out ----------------------------------------------------------------------
function showLogin(message) {
  stopPolling();
  top.replaceChildren(h("span", { class: "brand" }, "OpenBooking"));
  const error = h("p", { class: "error", id: "login-error", role: "alert" }, message || "");
  const totp = h("div", { class: "field", hidden: true },
    h("label", { for: "login-totp" }, "Authenticator code"),
    h("input", { id: "login-totp", name: "totp", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "8" }));
  const form = h("form", { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to the business page"),
    h("div", { class: "field" }, h("label", { for: "login-name" }, "E-mail or phone"),
      h("input", { id: "login-name", name: "login", autocomplete: "username", required: true, maxlength: "254" })),
    h("div", { class: "field" }, h("label", { for: "login-password" }, "Password"),
      h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    totp, error, h("button", { type: "submit", class: "primary" }, "Log in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    error.textContent = "";
    try {
      const answer = await call("POST", "/admin/session", {
        body: { login: data.get("login"), password: data.get("password"), totp: data.get("totp") || undefined },
      });
      await start(answer.data);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 422 && /2fa|totp/.test(JSON.stringify(failure.body))) {
        totp.hidden = false;
        error.textContent = "Enter the code of your authenticator app.";
        document.getElementById("login-totp").focus();
      } else if (failure instanceof ApiError && failure.status === 401) {
        error.textContent = "Wrong login, password or code.";
      } else {
        error.textContent = problem(failure);
      }
    }
  });
  main.replaceChildren(form);
  document.getElementById("login-name").focus();
}

async function logOut() {
  state.me = null;  // answers still on their way see the session has ended and draw nothing
  stopPolling();
  try { await call("DELETE", "/admin/session"); } catch { /* the cookie is gone either way */ }
  showLogin("You are logged out.");
}

// ---- start -----------------------------------------------------------------------------------
async function start(me) {
  state.me = me;
  const companies = (await call("GET", "/companies", { query: { my: 1 } })).data;
  if (state.me !== me) return;  // logged out meanwhile
  if (!companies.length) { main.replaceChildren(h("p", {}, "No location is yours yet.")); return; }
  state.companies = companies;
  const [wanted, day, mode, staffId] = location.hash.slice(1).split("/");
  state.week = mode === "week" ? Number(staffId) || null : null;
  await choose(companies.find((c) => String(c.id) === wanted) || companies[0], day);
}

async function choose(company, day) {
  const me = state.me;
  state.company = company;
  const [staff, services] = await Promise.all([
    call("GET", `/staff/${company.id}`), call("GET", `/services/${company.id}`),
  ]);
  if (state.me !== me) return;  // logged out meanwhile
  state.staff = staff.data.filter((member) => state.me.role !== "member" || member.id === state.me.staff_id);
  if (!state.staff.some((member) => member.id === state.week)) state.week = null;
  state.services = services.data;
  state.day = /^\d{4}-\d{2}-\d{2}$/.test(day || "") ? day : nowIn(zone())[0];
  renderTop();
  await loadDay();
  if (state.me === me) startPolling();
}

const zone = () => state.company.timezone_name || "UTC";

function renderTop() {
  const picker = h("input", { type: "date", id: "day", value: state.day, "aria-label": "Date" });
  picker.addEventListener("change", () => { if (picker.value) { state.day = picker.value; loadDay(); } });
  const locations = state.companies.length > 1
    ? h("select", { "aria-label": "Location", onchange: (event) => choose(state.companies.find((c) => String(c.id) === event.target.value)) },
      state.companies.map((c) => h("option", { value: c.id, selected: c.id === state.company.id }, c.title)))
    : h("span", { class: "location" }, state.company.title);
  top.replaceChildren(
    h("span", { class: "brand" }, "OpenBooking"), locations,
    h("nav", { class: "days", "aria-label": "Day" },
      h("button", { type: "button", onclick: () => shift(state.week ? -7 : -1), "aria-label": "Previous" }, "‹"),
      picker,
      h("button", { type: "button", onclick: () => shift(state.week ? 7 : 1), "aria-label": "Next" }, "›"),
      h("button", { type: "button", onclick: () => { state.day = nowIn(zone())[0]; loadDay(); } }, "Today")),
    h("select", { id: "view", "aria-label": "View", onchange: (event) => { state.week = Number(event.target.value) || null; loadDay(); } },
      h("option", { value: "" }, state.me.role === "member" ? "Day" : "Day: everyone"),
      state.staff.map((member) => h("option", { value: member.id, selected: member.id === state.week }, `Week: ${member.name}`))),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: () => addDialog() }, "Add booking"),
      isManager() ? h("button", { type: "button", onclick: () => sessionAddDialog() }, "Add session") : "",
      h("button", { type: "button", onclick: () => blockDialog() }, "Block time"),
      h("button", { type: "button", onclick: () => window.print() }, "Print"),
      h("span", { class: "who" }, state.me.name),
      h("button", { type: "button", onclick: logOut }, "Log out")));
}

function shift(days) {
  state.day = addDays(state.day, days);
  loadDay();
}

// ---- the day -------------------------------------------------------------------------------
function ended() {
  if (!state.me) return;  // the log-in form is already there
  const idle = state.me.idle_minutes;
  state.me = null;
  if (dialog.open) dialog.close();
  showLogin(idle
    ? `Your session has ended: it was not used for ${idle} minutes, or it reached its 12 hours. Log in again.`
    : "Your session has ended; log in again.");
}

// `background`: a reload the polling asked for, not the person (it keeps no session alive).
async function loadDay(background = false) {
  const me = state.me;
  if (!me) return;  // logged out: a poll still on its way draws nothing
  const company = state.company.id;
  const day = state.day;
  const week = state.week;
  document.getElementById("day").value = day;
  history.replaceState(null, "", `#${company}/${day}` + (week ? `/week/${week}` : ""));  // a reload or a bookmark keeps the view
  // The week starts on Monday.
  const monday = addDays(day, -((new Date(day + "T00:00:00Z").getUTCDay() + 6) % 7));
  const [from, till] = week ? [monday, addDays(monday, 6)] : [day, day];
  const members = week ? state.staff.filter((member) => member.id === week) : state.staff;
  try {
    const [records, schedules, sessions] = await Promise.all([
      call("GET", `/records/${company}`, { query: { start_date: from, end_date: till, count: 300, staff_id: week || undefined }, background }),
      Promise.all(members.map((member) =>
        call("GET", `/schedule/${company}/${member.id}/${from}/${till}`, { background }).then((answer) => answer.data).catch(() => []))),
      call("GET", `/activity/${company}/search`, { query: { from, till, count: 100, staff_id: week || undefined }, background }).then((a) => a.data).catch(() => []),
    ]);
    if (state.me !== me || company !== state.company.id || day !== state.day || week !== state.week) {
      return;  // logged out, or a later click won
    }
    state.records = records.data.filter((record) => !record.deleted);
    const lanes = week
      ? Array.from({ length: 7 }, (_, i) => addDays(monday, i)).map((date) => ({
        key: `day-${date}`, title: `${members[0].name}, ${date}`, short: date, member: members[0], date,
        schedule: schedules[0].find((entry) => entry.date === date),
      }))
      : members.map((member, index) => ({
        key: `staff-${member.id}`, title: member.name, short: member.name, member, date: day,
        schedule: schedules[index][0],
      }));
    renderDay(lanes, sessions);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) { ended(); return; }
    if (state.me === me) main.replaceChildren(h("p", { class: "error", role: "alert" }, problem(failure)));
  }
}

function renderDay(lanes, sessions) {
  const hours = lanes.flatMap((lane) => (lane.schedule && lane.schedule.slots) || []);
  const minutes = [
    ...hours.flatMap((slot) => [minutesOf(slot.from), minutesOf(slot.to)]),
    ...state.records.map((r) => [minutesOf(r.date.slice(11, 16)), minutesOf(r.date.slice(11, 16)) + r.seance_length / 60]).flat(),
  ];
  const first = Math.max(0, Math.floor(Math.min(8 * 60, ...minutes) / 60) * 60);
  const last = Math.min(24 * 60, Math.ceil(Math.max(20 * 60, ...minutes) / 60) * 60);
  const y = (minute) => `${(minute - first) * PX_PER_MINUTE}px`;
  const height = `${(last - first) * PX_PER_MINUTE}px`;
  const ruler = h("div", { class: "ruler", "aria-hidden": "true", style: { height } },
    Array.from({ length: (last - first) / 60 + 1 }, (_, i) => h("span", { style: { top: y(first + i * 60) } }, hhmm(first + i * 60))));
  const [today, nowMinute] = nowIn(zone());
  const columns = lanes.map(({ key, short, member, date, schedule }) => {
    const slots = (schedule && schedule.slots) || [];
    const shade = [];
    let cursor = first;
    for (const slot of slots) {
      if (minutesOf(slot.from) > cursor) shade.push([cursor, minutesOf(slot.from)]);
      cursor = Math.max(cursor, minutesOf(slot.to));
    }
    if (cursor < last) shade.push([cursor, last]);
    // Seat bookings of a group session are listed in the session, not as blocks of their own.
    const mine = state.records.filter((record) => record.staff_id === member.id && record.date.startsWith(date) && !record.activity_id);
    const groups = sessions.filter((session) => session.staff_id === member.id && session.date.startsWith(date));
    return h("section", { class: "column", "aria-labelledby": key },
      h("h2", { id: key }, short,
        slots.length ? "" : h("span", { class: "off" }, " · day off")),
      h("div", { class: "lane", style: { height } },
        shade.map(([from, to]) => h("div", { class: "closed", "aria-hidden": "true", style: { top: y(from), height: `${(to - from) * PX_PER_MINUTE}px` } })),
        mine.map((record) => {
          const start = minutesOf(record.date.slice(11, 16));
          const services = record.services.map((s) => s.title).join(", ");
          const name = (record.client && record.client.name) || "No name";
          const label = `${record.date.slice(11, 16)} ${name}, ${services}, ${ATTENDANCE[record.attendance] || ""}`;
          return h("button", {
            type: "button", class: `block att${record.attendance}`, "data-record": record.id, "aria-label": label,
            style: { top: y(start), height: `${Math.max(18, (record.seance_length / 60) * PX_PER_MINUTE)}px` },
            onclick: () => details(record.id),
          }, h("strong", {}, record.date.slice(11, 16), " ", name), h("span", {}, services));
        }),
        groups.map((session) => {
          const start = minutesOf(session.date.slice(11, 16));
          const seats = `${session.records_count}/${session.capacity} booked`;
          return h("button", {
            type: "button", class: "block group", "data-activity": session.id,
            "aria-label": `${session.date.slice(11, 16)} group: ${session.service.title}, ${seats}`,
            onclick: () => sessionDialog(session.id),
            style: { top: y(start), height: `${Math.max(18, (session.length / 60) * PX_PER_MINUTE)}px` },
          }, h("strong", {}, session.date.slice(11, 16), " ", session.service.title), h("span", {}, seats));
        }),
        date === today && nowMinute >= first && nowMinute <= last
          ? h("div", { class: "now", style: { top: y(nowMinute) }, "aria-label": `Now, ${hhmm(nowMinute)}`, role: "img" }) : null));
  });
  const grid = h("div", { class: "grid", tabindex: "0", role: "region", "aria-label": "Team columns", style: { "--columns": String(lanes.length) } }, ruler, columns);
  const list = h("table", { class: "print-list" },
    h("caption", {}, `${state.company.title} · ${state.week ? lanes[0].date + " – " + lanes[6].date : state.day}`),
    h("thead", {}, h("tr", {}, ["Date", "Time", "Team member", "Client", "Phone", "Services", "Comment"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, [...state.records].sort((a, b) => a.date.localeCompare(b.date)).map((r) => h("tr", {},
      h("td", {}, r.date.slice(0, 10)), h("td", {}, r.date.slice(11, 16)), h("td", {}, r.staff.name), h("td", {}, (r.client && r.client.name) || ""),
      h("td", {}, (r.client && r.client.phone) || ""), h("td", {}, r.services.map((s) => s.title).join(", ")), h("td", {}, r.comment || "")))));
  const heading = h("h1", { class: "sr-only" }, state.week ? `The week of ${lanes[0].title}` : `Appointments on ${state.day}`);
  // A re-render (polling, a change) keeps the keyboard focus on the same booking.
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.record : null;
  main.replaceChildren(heading, state.records.length ? "" : h("p", { class: "muted empty" }, state.week ? "No appointments this week." : "No appointments on this day."), grid, list);
  const again = (focused || state.opened) && main.querySelector(`[data-record="${focused || state.opened}"]`);
  if (again && (focused || !dialog.open)) again.focus();
  const session = !focused && !dialog.open && state.openedSession && main.querySelector(`[data-activity="${state.openedSession}"]`);
  if (session) session.focus();
}

// ---- polling -------------------------------------------------------------------------------
function startPolling() {
  stopPolling();
  state.since = new Date(Date.now() - 1000).toISOString();
  state.timer = setInterval(poll, POLL_SECONDS * 1000);
}

function stopPolling() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

async function poll() {
  if (!state.company || dialog.open) return;
  const asked = new Date(Date.now() - 2000).toISOString();  // a little overlap, for clock skew
  try {
    const answer = await call("GET", `/records/${state.company.id}`, { query: { changed_after: state.since, count: 1 }, background: true });
    state.since = asked;
    if (answer.meta && answer.meta.total_count > 0) {
      await loadDay(true);
      announce("The day has changed.");
    }
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) ended();
  }
}

// ---- dialogs -------------------------------------------------------------------------------
function openDialog(title, ...content) {
  dialog.replaceChildren(
    h("div", { class: "dialog-head" }, h("h2", { id: "dialog-title" }, title),
      h("button", { type: "button", class: "close", "aria-label": "Close", onclick: () => dialog.close() }, "×")),
    ...content);
  if (!dialog.open) dialog.showModal();
}

// The services a team member performs, as checkboxes (a booking may hold several).
function offeredTo(member) {
  return state.services.filter((service) => !Array.isArray(service.staff) || service.staff.some((s) => s.id === member));
}

function serviceChoices(prefix, member, checked) {
  return offeredTo(member).map((service) => {
    const link = Array.isArray(service.staff) && service.staff.find((s) => s.id === member);
    const minutes = Math.round(((link && link.seance_length) || service.duration || 0) / 60);
    return h("label", { class: "choice" },
      h("input", { type: "checkbox", name: "services", value: service.id, id: `${prefix}-service-${service.id}`, checked: checked.includes(service.id) }),
      ` ${service.title}`, h("span", { class: "muted" }, ` · ${minutes} min · ${service.price_min}`));
  });
}

const chosenServices = (box) => [...box.querySelectorAll("input[name=services]:checked")].map((input) => Number(input.value));

function staffOptions(selected) {
  return state.staff.map((member) => h("option", { value: member.id, selected: member.id === selected }, member.name));
}

// A booking's SMS and e-mail state (GET /record's `notifications`).
const MESSAGES = {
  "email.confirmed": "Confirmation e-mail", "email.changed": "Change e-mail", "email.cancelled": "Cancellation e-mail",
  "email.reminder": "Reminder e-mail", "email.staff_new": "Notice to the team member",
};
const REMINDER = { pending: "due", sent: "sent", off: "off", none: "not needed (booked within the lead time)" };
const when = (stamp) => String(stamp).slice(0, 16).replace("T", " ");

function notices(state) {
  if (!state) return [];
  const sms = state.sms.on
    ? `reminder ${state.sms.hours_before} h before: ${REMINDER[state.sms.reminder] || state.sms.reminder}${state.sms.due ? " " + when(state.sms.due) : ""}`
    : "no SMS reminder";
  const email = state.email.on
    ? `to ${state.email.address}, reminder ${state.email.hours_before} h before`
    : "no e-mails";
  const messages = state.outbox.map((message) => h("li", {},
    `${MESSAGES[message.event] || "Webhook " + message.event} to ${message.to}: `,
    h("span", { class: `state ${message.state}` }, message.state),
    message.sent ? ` ${when(message.sent)}` : "",
    message.state === "pending" ? `, due ${when(message.due)}` : "",
    message.error ? ` (${message.error})` : ""));
  return [
    h("dt", {}, "SMS"), h("dd", { id: "sms-state" }, sms),
    h("dt", {}, "E-mail"), h("dd", { id: "email-state" }, email),
    h("dt", {}, "Messages"), h("dd", {}, messages.length ? h("ul", { class: "outbox", id: "outbox" }, messages) : "none"),
  ];
}

async function details(id) {
  state.opened = id;  // focus returns to this booking when its dialog closes
  state.openedSession = null;
  let record;
  try {
    record = (await call("GET", `/record/${state.company.id}/${id}`)).data;
  } catch (failure) { announce(problem(failure)); return; }
  const error = h("p", { class: "error", role: "alert" });
  const act = async (work, done) => {
    error.textContent = "";
    try { await work(); dialog.close(); announce(done); await loadDay(); } catch (failure) { error.textContent = problem(failure); }
  };
  const path = `/record/${state.company.id}/${record.id}`;
  const price = record.services.reduce((sum, service) => sum + Number(service.cost || 0), 0);
  const move = h("form", { class: "move", "aria-label": "Move" },
    h("div", { class: "field" }, h("label", { for: "move-date" }, "Date"), h("input", { id: "move-date", type: "date", value: record.date.slice(0, 10), required: true })),
    h("div", { class: "field" }, h("label", { for: "move-time" }, "Time"), h("input", { id: "move-time", type: "time", step: "300", value: record.date.slice(11, 16), required: true })),
    h("div", { class: "field" }, h("label", { for: "move-staff" }, "Team member"), h("select", { id: "move-staff" }, staffOptions(record.staff_id))),
    h("button", { type: "submit" }, "Move"));
  move.addEventListener("submit", (event) => {
    event.preventDefault();
    const when = `${move.querySelector("#move-date").value}T${move.querySelector("#move-time").value}:00`;
    act(() => call("PUT", path, { body: { datetime: when, staff_id: Number(move.querySelector("#move-staff").value) } }), "Moved.");
  });
  const change = h("form", { class: "change-services", "aria-label": "Change services" },
    h("fieldset", { class: "choices", id: "change-services" }, h("legend", {}, "Services of this booking"),
      serviceChoices("change", record.staff_id, record.services.map((service) => service.id))),
    h("button", { type: "submit" }, "Change services"));
  change.addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = chosenServices(change);
    if (!ids.length) { error.textContent = "Pick at least one service."; return; }
    act(() => call("PUT", path, { body: { services: ids.map((one) => ({ id: one })) } }), "Services changed.");
  });
  const history = (record.history || []).map((change) => h("li", {},
    `${change.date.slice(0, 16).replace("T", " ")} · ${change.actor.name || change.actor.type} · ${change.action}`));
  openDialog(`${record.date.slice(11, 16)} ${(record.client && record.client.name) || "Booking"}`,
    h("dl", { class: "facts" },
      h("dt", {}, "Client"), h("dd", {}, (record.client && record.client.name) || "—", " ", (record.client && record.client.phone) || ""),
      h("dt", {}, "Team member"), h("dd", {}, record.staff.name),
      h("dt", {}, "When"), h("dd", {}, record.date.slice(0, 16), ` (${Math.round(record.seance_length / 60)} min)`),
      h("dt", {}, "Services"), h("dd", {}, record.services.map((s) => `${s.title} (${s.cost})`).join(", ")),
      h("dt", {}, "Price"), h("dd", {}, String(price)),
      h("dt", {}, "Comment"), h("dd", {}, record.comment || "—"),
      h("dt", {}, "State"), h("dd", { id: "attendance" }, ATTENDANCE[record.attendance] || String(record.attendance)),
      ...notices(record.notifications),
      h("dt", {}, "Booked"), h("dd", {}, record.online ? "online" : "by the staff", ", ", record.create_date.slice(0, 16).replace("T", " "))),
    h("div", { class: "buttons" },
      h("button", { type: "button", onclick: () => act(() => call("PUT", path, { body: { attendance: 1 } }), "Marked as came.") }, "Came"),
      h("button", { type: "button", onclick: () => act(() => call("PUT", path, { body: { attendance: -1 } }), "Marked as no-show.") }, "No-show"),
      h("button", { type: "button", class: "danger", onclick: () => { if (window.confirm("Cancel this booking?")) act(() => call("DELETE", path), "Cancelled."); } }, "Cancel booking")),
    error,
    h("h3", {}, "Move"), move,
    h("h3", {}, "Services"), change,
    h("h3", {}, "History"), h("ul", { class: "history" }, history.length ? history : h("li", {}, "No changes yet.")));
}

// ---- group sessions ------------------------------------------------------------------------
const isManager = () => state.me.role !== "member";

async function sessionDialog(id, message) {
  state.openedSession = id;  // focus returns to this session when its dialog closes
  state.opened = null;
  const company = state.company.id;
  let session, seats;
  try {
    [session, seats] = await Promise.all([
      call("GET", `/activity/${company}/${id}`).then((answer) => answer.data),
      call("GET", `/records/${company}`, { query: { activity_id: id, count: 300 } }).then((answer) => answer.data),
    ]);
  } catch (failure) {
    if (dialog.open) dialog.close();
    announce(problem(failure));
    await loadDay();
    return;
  }
  const error = h("p", { class: "error", role: "alert" }, message || "");
  const booked = seats.reduce((sum, seat) => sum + (seat.clients_count || 1), 0);
  const leader = (state.staff.find((member) => member.id === session.staff_id) || session.staff || {}).name || "";
  const cancelSeat = async (seat, name) => {
    if (!window.confirm(`Cancel the booking of ${name} (${seat.clients_count || 1} place(s))? They are told.`)) return;
    try {
      await call("DELETE", `/record/${company}/${seat.id}`);
      announce(`The booking of ${name} is cancelled.`);
      await sessionDialog(id);
      loadDay();
    } catch (failure) { error.textContent = problem(failure); }
  };
  const rows = seats.map((seat) => {
    const name = (seat.client && seat.client.name) || "No name";
    return h("tr", {},
      h("td", {}, name), h("td", {}, (seat.client && seat.client.phone) || ""),
      h("td", { class: "number" }, String(seat.clients_count || 1)),
      h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Cancel the booking of ${name}`, onclick: () => cancelSeat(seat, name) }, "Cancel")));
  });
  const attendees = seats.length
    ? h("table", { class: "attendees", id: "attendees" },
      h("caption", { class: "sr-only" }, "Who booked"),
      h("thead", {}, h("tr", {}, ["Client", "Phone", "Places", "Action"].map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows))
    : h("p", { class: "muted", id: "attendees" }, "No one has booked yet.");
  const cancelSession = async () => {
    if (!window.confirm("Cancel this session?")) return;
    error.textContent = "";
    try {
      await call("DELETE", `/activity/${company}/${id}`);
      state.openedSession = null;
      dialog.close();
      announce("Session cancelled.");
      await loadDay();
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 409 && seats.length) {
        error.textContent = `${failure.message} They are listed above; cancelling one tells its client.`;
      } else error.textContent = problem(failure);
    }
  };
  openDialog(`${session.date.slice(11, 16)} ${session.service.title}`,
    h("dl", { class: "facts" },
      h("dt", {}, "Led by"), h("dd", {}, leader),
      h("dt", {}, "When"), h("dd", {}, session.date.slice(0, 16).replace("T", " "), ` (${Math.round(session.length / 60)} min)`),
      h("dt", {}, "Seats"), h("dd", { id: "seats" }, `${booked} of ${session.capacity} booked, ${Math.max(0, session.capacity - booked)} left`)),
    h("h3", {}, "Who booked"), attendees,
    error,
    isManager() ? h("div", { class: "buttons" }, h("button", { type: "button", class: "danger", onclick: cancelSession }, "Cancel session")) : "");
  const next = dialog.querySelector("#attendees button") || dialog.querySelector("button.close");
  if (next && !dialog.contains(document.activeElement)) next.focus();  // the pressed button is gone
}

function sessionAddDialog() {
  const error = h("p", { class: "error", role: "alert" });
  const staff = h("select", { id: "session-staff" }, staffOptions(state.staff[0] && state.staff[0].id));
  const services = h("select", { id: "session-service", required: true });
  const length = h("input", { id: "session-length", type: "number", min: "1", max: "1440", required: true });
  const fillServices = () => {
    const member = Number(staff.value);
    const offered = state.services.filter((service) => !Array.isArray(service.staff) || service.staff.some((s) => s.id === member));
    services.replaceChildren(...offered.map((service) => h("option", { value: service.id }, service.title)));
    fillLength();
  };
  const fillLength = () => {
    const chosen = state.services.find((service) => String(service.id) === services.value);
    if (chosen) length.value = String(Math.max(1, Math.round(chosen.duration / 60)));
  };
  staff.addEventListener("change", fillServices);
  services.addEventListener("change", fillLength);
  const form = h("form", { class: "add-session" },
    h("div", { class: "field" }, h("label", { for: "session-staff" }, "Led by"), staff),
    h("div", { class: "field" }, h("label", { for: "session-service" }, "Kind of session"), services),
    h("div", { class: "field" }, h("label", { for: "session-date" }, "Date"), h("input", { id: "session-date", type: "date", value: state.day, required: true })),
    h("div", { class: "field" }, h("label", { for: "session-time" }, "Starts at"), h("input", { id: "session-time", type: "time", step: "300", value: "18:00", required: true })),
    h("div", { class: "field" }, h("label", { for: "session-length" }, "Length (minutes)"), length),
    h("div", { class: "field" }, h("label", { for: "session-capacity" }, "Places"), h("input", { id: "session-capacity", type: "number", min: "1", max: "10000", value: "6", required: true })),
    error, h("button", { type: "submit", class: "primary" }, "Add session"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const day = form.querySelector("#session-date").value;
    try {
      const made = await call("POST", `/activity/${state.company.id}`, {
        body: {
          date: `${day}T${form.querySelector("#session-time").value}:00`,
          staff_id: Number(staff.value), service_id: Number(services.value),
          capacity: Number(form.querySelector("#session-capacity").value), length: Number(length.value) * 60,
        },
      });
      state.openedSession = made.data.id;
      state.opened = null;
      dialog.close();
      announce("Session added.");
      state.day = day;
      await loadDay();
    } catch (failure) { error.textContent = problem(failure); }
  });
  openDialog("Add a group session", form);
  fillServices();
}

async function addDialog() {
  const error = h("p", { class: "error", role: "alert" });
  const times = h("select", { id: "add-time", required: true }, h("option", { value: "" }, "Pick a service first"));
  const services = h("fieldset", { class: "choices", id: "add-services" });
  const staff = h("select", { id: "add-staff" }, staffOptions(state.staff[0] && state.staff[0].id));
  const date = h("input", { id: "add-date", type: "date", value: state.day, required: true });
  let asked = 0;  // the latest question about free times wins
  const fillServices = () => {
    const member = Number(staff.value);
    const first = offeredTo(member)[0];
    services.replaceChildren(h("legend", {}, "Services"), ...serviceChoices("add", member, first ? [first.id] : []));
    if (!first) services.append(h("p", { class: "muted" }, "No services for this team member."));
    fillTimes();
  };
  // The free times of the chosen services together, one after another (GET /book_times).
  const fillTimes = async () => {
    const ids = chosenServices(services);
    const question = ++asked;
    times.replaceChildren(h("option", { value: "" }, ids.length ? "…" : "Pick a service first"));
    if (!ids.length || !date.value) return;
    let free = [];
    try {
      const answer = await call("GET", `/book_times/${state.company.id}/${staff.value}/${date.value}`, { query: { service_ids: ids } });
      free = answer.data.map((slot) => slot.time);
    } catch { free = []; }
    if (question !== asked) return;
    times.replaceChildren(...(free.length ? free.map((t) => h("option", { value: t }, t)) : [h("option", { value: "" }, "No free time")]));
  };
  staff.addEventListener("change", fillServices);
  services.addEventListener("change", fillTimes);
  date.addEventListener("change", fillTimes);
  const form = h("form", { class: "add" },
    h("div", { class: "field" }, h("label", { for: "add-staff" }, "Team member"), staff),
    services,
    h("div", { class: "field" }, h("label", { for: "add-date" }, "Date"), date),
    h("div", { class: "field" }, h("label", { for: "add-time" }, "Free time"), times),
    h("div", { class: "field" }, h("label", { for: "add-phone" }, "Client phone"), h("input", { id: "add-phone", type: "tel", autocomplete: "off", required: true, maxlength: "32" })),
    h("div", { class: "field" }, h("label", { for: "add-name" }, "Client name"), h("input", { id: "add-name", autocomplete: "off", required: true, maxlength: "255" })),
    h("div", { class: "field" }, h("label", { for: "add-comment" }, "Comment"), h("input", { id: "add-comment", value: "walk-in", maxlength: "1000" })),
    error, h("button", { type: "submit", class: "primary" }, "Book"));
  form.querySelector("#add-phone").addEventListener("change", async (event) => {
    if (state.me.role === "member") return;  // no client list for team members
    try {
      const found = (await call("GET", `/clients/${state.company.id}`, { query: { phone: event.target.value.replace(/\D/g, ""), count: 1 } })).data;
      const name = form.querySelector("#add-name");
      if (found.length && !name.value) { name.value = found[0].name; announce(`Found ${found[0].name}.`); }
    } catch { /* not found is fine */ }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await call("POST", `/records/${state.company.id}`, {
        body: {
          staff_id: Number(staff.value), services: chosenServices(services).map((one) => ({ id: one })),
          datetime: `${date.value}T${times.value}:00`, comment: form.querySelector("#add-comment").value,
          client: { name: form.querySelector("#add-name").value, phone: form.querySelector("#add-phone").value },
        },
      });
      dialog.close();
      announce("Booked.");
      state.day = date.value;
      await loadDay();
    } catch (failure) { error.textContent = problem(failure); }
  });
  openDialog("Add a booking", form);
  fillServices();
}

async function blockDialog() {
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "block-time" },
    h("div", { class: "field" }, h("label", { for: "block-staff" }, "Team member"), h("select", { id: "block-staff" }, staffOptions(state.staff[0] && state.staff[0].id))),
    h("div", { class: "field" }, h("label", { for: "block-date" }, "Date"), h("input", { id: "block-date", type: "date", value: state.day, required: true })),
    h("fieldset", {}, h("legend", {}, "Block"),
      h("label", {}, h("input", { type: "radio", name: "kind", value: "break", checked: true }), " a break"),
      h("label", {}, h("input", { type: "radio", name: "kind", value: "off" }), " the whole day")),
    h("div", { class: "field" }, h("label", { for: "block-from" }, "From"), h("input", { id: "block-from", type: "time", step: "300", value: "13:00" })),
    h("div", { class: "field" }, h("label", { for: "block-to" }, "To"), h("input", { id: "block-to", type: "time", step: "300", value: "14:00" })),
    error, h("button", { type: "submit", class: "primary" }, "Block"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const member = form.querySelector("#block-staff").value;
    const day = form.querySelector("#block-date").value;
    const path = `/schedule/${state.company.id}/${member}/${day}/${day}`;
    try {
      let entry = { date: day, is_working: false, slots: [] };
      if (new FormData(form).get("kind") === "break") {
        const from = minutesOf(form.querySelector("#block-from").value);
        const to = minutesOf(form.querySelector("#block-to").value);
        if (!(to > from)) { error.textContent = "The break must end after it starts."; return; }
        const current = (await call("GET", path)).data[0];
        const slots = [];
        for (const slot of current.slots || []) {
          const [a, b] = [minutesOf(slot.from), minutesOf(slot.to)];
          if (a < from) slots.push({ from: slot.from, to: hhmm(Math.min(b, from)) });
          if (b > to) slots.push({ from: hhmm(Math.max(a, to)), to: slot.to });
        }
        entry = { date: day, is_working: slots.length > 0, slots };
      }
      await call("PUT", path, { body: [entry] });
      dialog.close();
      announce("Time blocked.");
      await loadDay();
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 409) {
        error.replaceChildren("It would hit these bookings; move or cancel them first:",
          h("ul", { class: "hits" }, failure.errors.filter((e) => e.id).map((e) =>
            h("li", {}, h("button", { type: "button", class: "link", onclick: () => details(e.id) }, `${String(e.datetime).slice(0, 16).replace("T", " ")} (#${e.id})`)))));
      } else error.textContent = problem(failure);
    }
  });
  openDialog("Block time", form);
}

dialog.addEventListener("close", () => {
  const block = (state.opened && main.querySelector(`[data-record="${state.opened}"]`))
    || (state.openedSession && main.querySelector(`[data-activity="${state.openedSession}"]`));
  if (block) block.focus();
});

window.addEventListener("openbooking:session-ended", ended);

// ---- boot ----------------------------------------------------------------------------------
(async () => {
  try {
    const me = await call("GET", "/admin/session");
    await start(me.data);
  } catch (failure) {
    showLogin(failure instanceof ApiError && failure.status === 401 ? "" : problem(failure));
  }
})();

