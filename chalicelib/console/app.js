// Pregón's staff console (W2): the shell. Sign-in, the navigation, hash routing, and the helpers every
// screen uses (docs/web.md, "The staff console"). Screens are ES modules that call register().
// Nothing here uses innerHTML: whatever a tenant or a client typed is shown as text.

const TOKEN_KEY = "pregon.console.token";
const DRAFT_KEY = "pregon.console.draft";
const PICKED_KEY = "pregon.console.picked";
const PKCE_KEY = "pregon.console.pkce";
// The API lives beside the console: /console -> /, /api/console -> /api/ (API Gateway's stage).
const API_BASE = location.pathname.replace(/console\/?$/, "");
const LEVEL_NAMES = { 1: "administrador", 2: "supervisor", 3: "operador", 4: "agente" };

const screens = new Map();
// session: counts sign-ins and sign-outs, so a screen still loading when its session ended is not
// drawn over the sign-in; ending: the API refused the credentials and the sign-out is on its way.
// `draws` counts the screens drawn (show): only the latest may put its screen in the page.
const state = { user: null, allowed: null, config: null, session: 0, ending: false, draws: 0 };

// --- DOM ----------------------------------------------------------------------------------------

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), pressHandler(name.slice(2), value));
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

// Put children into a parent as h() does: null, undefined and false are left out. (The DOM's own
// replaceChildren() and append() would show them as the words "null" and "undefined".)
export function fill(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
  return parent;
}

export function extend(parent, ...children) {
  append(parent, children);
  return parent;
}

// Every table of a screen sits in a box that scrolls sideways when the table is wider than the
// screen (a phone), so the page itself never does. Wrapped as tables arrive, whatever drew them.
// A box that does scroll can be reached with Tab (and scrolled with the arrow keys), named as a
// region after its table's caption or label (WCAG 2.1.1; axe's scrollable-region-focusable).
const scrolling = typeof ResizeObserver === "function" ? new ResizeObserver((entries) => {
  for (const entry of entries) {
    const box = entry.target.closest(".table-scroll");
    if (!box) continue;
    if (box.scrollWidth > box.clientWidth + 1) {
      const table = box.querySelector("table");
      const name = table && (table.getAttribute("aria-label") || (table.caption && table.caption.textContent.trim()));
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", name || "Tabla");
    } else {
      for (const attribute of ["tabindex", "role", "aria-label"]) box.removeAttribute(attribute);
    }
  }
}) : null;

function scrollTables(root) {
  const tables = root.matches && root.matches("table") ? [root] : root.querySelectorAll ? root.querySelectorAll("table") : [];
  for (const table of tables) {
    if (table.parentElement && table.parentElement.classList.contains("table-scroll")) continue;
    const box = h("div", { class: "table-scroll" });
    table.replaceWith(box);
    box.appendChild(table);
    if (scrolling) {
      scrolling.observe(box);
      scrolling.observe(table);
    }
  }
}

// The browser's own checks (a required field left empty, a number out of range) speak the
// browser's language: an English Chromium would say "Please fill out this field." in a Spanish
// console. The console words them itself.
function validityMessage(control) {
  const v = control.validity;
  if (v.valueMissing) return control.type === "file" ? "Elija un archivo." : "Complete este campo.";
  if (v.typeMismatch) return control.type === "email" ? "Escriba una dirección de e-mail." : "Escriba una dirección válida.";
  if (v.badInput) return "Escriba un número.";
  if (v.rangeUnderflow) return `El mínimo es ${control.min}.`;
  if (v.rangeOverflow) return `El máximo es ${control.max}.`;
  if (v.stepMismatch) return "Escriba un número entero.";
  if (v.tooLong) return `Como mucho ${control.maxLength} caracteres.`;
  if (v.tooShort) return `Al menos ${control.minLength} caracteres.`;
  if (v.patternMismatch) return control.title || "El formato no es válido.";
  return "";
}

document.addEventListener(
  "invalid",
  (event) => {
    const control = event.target;
    control.setCustomValidity("");
    control.setCustomValidity(validityMessage(control));
  },
  true,
);
// A custom message makes the field invalid until it is cleared: cleared at each change, so the
// browser checks again with its own rules.
for (const type of ["input", "change"]) {
  document.addEventListener(type, (event) => event.target.setCustomValidity?.(""), true);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null }, message);
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

export function progressBar(fraction) {
  const percent = Math.max(0, Math.min(100, Math.round((Number(fraction) || 0) * 100)));
  const bar = h("span", { class: "progress-fill" });
  bar.style.width = `${percent}%`; // the CSSOM, not a style attribute
  return h(
    "div",
    { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": percent },
    bar,
    h("span", { class: "progress-label" }, `${percent} %`),
  );
}

// --- the API ------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, message, fields = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields; // {field: message}
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// Every value that becomes a segment of an API path (an id from the page's address, a form or an
// API answer) goes through segment(). encodeURIComponent keeps a "/", "?" or "#" in it from making
// another path or a query, but leaves "." alone, and the browser's URL parser resolves the dot
// segments ".", ".." and their percent-encoded forms ("%2e", ".%2E", ...): a crafted link such as
// #/documents?number=.. would make the console call another of the API's paths with the signed-in
// user's token. So a value that is empty or a dot segment is refused, before any request, as not
// found (a 404 of the console's own): each screen says so in place as it does for the API's 404.
// send() holds every path to the same rule, for a segment that did not come through here.
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

function refusedSegment(text) {
  return text === "" || DOT_SEGMENT.test(text);
}

function notFoundError(text) {
  return new ApiError(404, text === "" ? "No se encontró: falta el código que buscar." : `No se encontró «${text}».`);
}

export function segment(value) {
  const text = value === null || value === undefined ? "" : String(value);
  if (refusedSegment(text)) throw notFoundError(text);
  return encodeURIComponent(text);
}

function url(path) {
  return API_BASE + String(path).replace(/^\//, "");
}

// One change at a time per form or button. A double-click on "Guardar nota" or "Enviar" (or a
// second press because nothing seemed to happen) would otherwise add the note twice or start two
// send jobs: while the change a form or button asked for is on its way (a request other than GET
// that its submit or click started), the form or button says it is busy, and pressing it again does
// nothing. Its submit buttons are marked aria-disabled, not disabled, so the keyboard stays on them.
let pressed = null; // the form or button whose submit or click is being handled right now

function guardPress(event) {
  const target = event.type === "submit" ? event.target : event.target.closest?.("button");
  if (!target || !document.getElementById("main").contains(target)) return;
  if (target.getAttribute("aria-busy") === "true") {
    event.preventDefault();
    event.stopImmediatePropagation();
    return;
  }
  pressed = target;
  setTimeout(() => {
    if (pressed === target) pressed = null;
  }, 0);
}

// A submit or click handler that returns a promise keeps its form or button busy until the promise
// settles, not only while its request is on its way: after the answer the handler still reads it,
// then resets the form, and a second press in that gap (a double-click on a slow machine) found the
// form free and its text still there, and sent it again.
function pressHandler(type, handler) {
  if (type !== "submit" && type !== "click") return handler;
  return function (event) {
    const owner = pressed;
    const result = handler.call(this, event);
    if (owner && owner.isConnected && result && typeof result.then === "function") {
      markBusy(owner, true);
      const done = () => markBusy(owner, false);
      result.then(done, done);
    }
    return result;
  };
}

const busyCount = new WeakMap(); // a press may start two changes at once: busy until both are back

function markBusy(owner, busy) {
  const count = (busyCount.get(owner) || 0) + (busy ? 1 : -1);
  busyCount.set(owner, count);
  const buttons = owner.matches("form") ? owner.querySelectorAll("button[type=submit], button:not([type])") : [owner];
  for (const [element, name] of [[owner, "aria-busy"], ...[...buttons].map((b) => [b, "aria-disabled"])]) {
    if (count > 0) element.setAttribute(name, "true");
    else element.removeAttribute(name);
  }
}

async function request(method, path, body, accept, ifMatch, ifNoneMatch) {
  const owner = method !== "GET" && pressed && pressed.isConnected ? pressed : null;
  if (!owner) return send(method, path, body, accept, ifMatch, ifNoneMatch);
  markBusy(owner, true);
  try {
    return await send(method, path, body, accept, ifMatch, ifNoneMatch);
  } finally {
    markBusy(owner, false);
  }
}

async function send(method, path, body, accept, ifMatch, ifNoneMatch) {
  const refused = String(path).split(/[?#]/)[0].split("/").slice(1).find(refusedSegment);
  if (refused !== undefined) throw notFoundError(refused);
  // The console speaks Spanish: the API answers its errors in Spanish too (docs/api.md, "Errors").
  const headers = { Accept: accept, "Accept-Language": "es" };
  const held = token();
  if (held) headers.Authorization = `Bearer ${held}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // An edit of what the screen loaded: saved only if no one else saved it since (412 otherwise).
  if (ifMatch) headers["If-Match"] = ifMatch;
  // "*": create only (a new client): refused with 412 when there is one already, nothing written.
  if (ifNoneMatch) headers["If-None-Match"] = ifNoneMatch;
  let response;
  try {
    response = await fetch(url(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "No se pudo conectar con el servidor.");
  }
  if (response.ok) return response;
  let answer = {};
  try {
    answer = await response.json();
  } catch (error) {
    answer = {};
  }
  const fields = {};
  for (const item of answer.errors || []) if (item.field && !(item.field in fields)) fields[item.field] = item.message;
  if (answer.field && !(answer.field in fields)) fields[answer.field] = answer.message;
  // The gateway's own refusal of the credentials ({"Message": ...}, no "error"): expired or revoked.
  const credentialsRefused = response.status === 401 || (response.status === 403 && answer.Message && !answer.error);
  const message = credentialsRefused
    ? "Sus credenciales no son válidas o vencieron."
    : answer.message || `Error ${response.status}`;
  if (credentialsRefused && state.user && !state.ending) {
    // The session ended (the token expired): back to the sign-in, with nothing of the last user shown;
    // what they had typed waits in the tab for the same user's return to the same screen. Once, however
    // many of a screen's calls were refused together.
    state.ending = true;
    keepDraft("ended");
    setTimeout(() => {
      toast("La sesión terminó: ingrese de nuevo.", "error");
      signOut();
    }, 0);
  }
  const error = new ApiError(response.status, message, fields);
  error.credentialsRefused = credentialsRefused;
  error.code = answer.error; // the API's code of the refusal ("ExportTooLarge"), for a screen that acts on it
  throw error;
}

// `ifMatch`: the `etag` of what the screen loaded and the person edits (docs/api.md, "Editing
// safely"): the API saves it only if no one else saved it meanwhile, else a 412 that showErrors()
// explains, the person's text left on screen.
// `ifNoneMatch: "*"`: create only; a 412 when it exists already (PUT /clients/{id}).
export async function api(method, path, body, { ifMatch, ifNoneMatch } = {}) {
  const response = await request(method, path, body, "application/json", ifMatch, ifNoneMatch);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export async function download(path, filename, accept = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") {
  const response = await request("GET", path, undefined, accept);
  const blob = await response.blob();
  const link = h("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// An error as a person reads it. The API's message leads with the code of the field it refuses, in
// English ("to: no puede ser ...", "client_id: no existe el cliente ..."): the fields' own messages
// are said without it.
export function errorText(error) {
  const fields = (error && error.fields) || {};
  const pairs = Array.isArray(fields) ? fields.map((f) => [f.field, f.message]) : Object.entries(fields);
  const messages = [...new Set(pairs.map(([, message]) => message).filter(Boolean))];
  return messages.length ? messages.join("; ") : (error && error.message) || String(error || "Error");
}

// Show an ApiError next to the fields it names (inputs by `name`), or at the top of the form. A
// field's message is a <span> (a block by console.css): most inputs sit inside their <label>, which
// may hold phrasing content only (a <p> there is invalid HTML, docs/decisions/0034).
export function showErrors(form, error) {
  clearErrors(form);
  if (error && error.status === 412) {
    showEditedMeanwhile(form);
    return;
  }
  const fields = (error && error.fields) || {};
  let placed = false;
  for (const [field, message] of Object.entries(fields)) {
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (!input) continue;
    const id = `${input.id || field.replace(/\W/g, "-")}-error`;
    input.setAttribute("aria-invalid", "true");
    // after what already describes the field (its hint): a screen reader says the hint, then the error
    input.setAttribute("aria-describedby", [...describedBy(input).filter((each) => each !== id), id].join(" "));
    input.insertAdjacentElement("afterend", h("span", { class: "field-error", id }, message));
    if (!placed) input.focus();
    placed = true;
  }
  if (!placed) {
    form.prepend(h("p", { class: "form-error", role: "alert" }, errorText(error)));
  }
}

// Someone else saved what the form edits since the screen loaded it (a 412): nothing was saved.
// The person's text stays in the form; the screen loads again only when they ask. A form whose
// thing is also written by others than people (a client, by the company's system) says so in its
// `data-edited-meanwhile`.
function showEditedMeanwhile(form) {
  const reload = h("button", { type: "button", class: "reload" }, "Volver a cargar");
  reload.addEventListener("click", () => show());
  form.prepend(
    h(
      "div",
      { class: "form-error edited-meanwhile", role: "alert" },
      h(
        "p",
        {},
        form.dataset.editedMeanwhile ||
          "No se guardó: otra persona guardó cambios aquí después de que usted abrió esta pantalla. " +
            "Lo que usted escribió sigue abajo, sin guardar; cópielo si lo necesita y vuelva a cargar " +
            "para ver los cambios de la otra persona.",
      ),
      reload,
    ),
  );
  reload.focus();
}

// `keepNotice`: the refusal of a save someone else's had overtaken stays (a live preview clearing its
// own errors must not hide that the person's text is not saved).
export function clearErrors(form, { keepNotice = false } = {}) {
  const shown = keepNotice ? ".field-error, .form-error:not(.edited-meanwhile)" : ".field-error, .form-error";
  const gone = new Set();
  form.querySelectorAll(shown).forEach((node) => {
    if (node.id) gone.add(node.id);
    node.remove();
  });
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  // each field keeps what described it before (its hint), only the error's id goes
  form.querySelectorAll("[aria-describedby]").forEach((node) => {
    const kept = describedBy(node).filter((each) => !gone.has(each));
    if (kept.length) node.setAttribute("aria-describedby", kept.join(" "));
    else node.removeAttribute("aria-describedby");
  });
}

function describedBy(node) {
  return (node.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
}

// A hint beside a control (an input, a select, a textarea; for a group, its fieldset), which the
// control names first in its `aria-describedby` so a screen reader says it after the label (WCAG
// 1.3.1, 3.3.2); what already described the control stays, and showErrors adds a field's error
// after it. Its id is the control's own with `-hint` (unique as the control's id is); a control
// without an id gets a numbered one, so a form drawn twice never repeats an id (docs/decisions/0034).
// `tag`: a hint paragraph ("p") among a form's fields, named by the control it qualifies (a submit
// button, for what holds for the whole form) so a screen reader moving from field to field says it.
let unnamedHints = 0;
export function hintFor(control, { tag = "small", ...attrs } = {}, ...children) {
  const id = control.id ? `${control.id}-hint` : `hint-${++unnamedHints}`;
  control.setAttribute("aria-describedby", [id, ...describedBy(control).filter((each) => each !== id)].join(" "));
  return h(tag, { ...attrs, id }, ...children);
}

// The company's settings (Z1: its time zone and locale), read once per sign-in: every time a
// person reads is shown in them, whatever zone the browser is in.
let company = null;

export async function companyFormat() {
  if (!company) {
    try {
      company = await api("GET", "/company");
    } catch {
      company = {};
    }
  }
  return company;
}

// The company's settings as the API answered a change of them (PATCH /company): from now on every
// time is shown in its new zone and locale, without signing in again.
export function companyChanged(answer) {
  company = answer || {};
}

// Format an ISO time for a person, in the company's time zone and locale, as the API's own `_shown`
// times and the e-mails write it (chalicelib/core/localization.py, show_datetime): the locale's day,
// month and year in full and a 24-hour time, "23/11/2026 07:30" for es_AR. (The locale's short style
// would read "23/11/26, 7:30 a. m.", another format than the rest of the product.)
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const c = company || {};
  const locale = (c.locale || "es-AR").replace("_", "-");
  const timeZone = c.time_zone || "UTC";
  try {
    const day = new Intl.DateTimeFormat(locale, { timeZone, year: "numeric", month: "numeric", day: "numeric" });
    const time = new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    return `${day.format(date)} ${time.format(date)}`;
  } catch {
    return date.toISOString();
  }
}

// Format one of the company's days ("2026-11-20", as the API writes a day: already the company's, so
// no zone moves it) in its locale, as when() writes the day of a time: "20/11/2026" for es_AR.
export function day(iso) {
  if (!iso) return "—";
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
  if (!parts) return String(iso);
  const locale = ((company || {}).locale || "es-AR").replace("_", "-");
  const date = new Date(Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3])));
  try {
    return new Intl.DateTimeFormat(locale, { timeZone: "UTC", year: "numeric", month: "numeric", day: "numeric" }).format(date);
  } catch {
    return String(iso);
  }
}

// A day ("2026-11-20") in words in the company's locale, "viernes, 20 de noviembre de 2026": said
// beside a date field, whose own format is the browser's (11/20/2026 in an English browser).
export function dayInWords(iso) {
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ""));
  if (!parts) return "";
  const locale = ((company || {}).locale || "es-AR").replace("_", "-");
  const date = new Date(Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3])));
  try {
    return new Intl.DateTimeFormat(locale, { timeZone: "UTC", weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(date);
  } catch {
    return String(iso);
  }
}

// --- names a person reads ----------------------------------------------------------------------
// The API names sender areas and message types by code, in English (its callers are programs); a
// person reads them in Spanish. An unknown code (a company's own template) is shown as it comes.

export const AREA_NAMES = {
  all: "general de la empresa",
  tracking: "seguimiento",
  tickets: "tickets",
  invoices: "facturas",
  payments: "pagos",
  clients: "clientes",
  reminders: "recordatorios",
  documents: "documentos",
};

export function areaName(code) {
  return AREA_NAMES[code] || String(code ?? "");
}

const TEMPLATE_TITLES = {
  tracking_alert: "Aviso de seguimiento",
  pickup_approved: "Retiro aprobado",
  pickups_confirmed: "Retiros confirmados",
  invoice: "Factura emitida",
  payment: "Pago registrado",
  ticket: "Cambio en un ticket",
  reminder: "Recordatorio de pago",
  statement: "Resumen de cuenta",
  order: "Pedido",
  purchase_order: "Orden de compra",
  portal_access: "Acceso al portal de documentos",
};

// A template's title: the default ones by their key, a company's own one by its name.
export function templateTitle(template) {
  if (TEMPLATE_TITLES[template.key]) return TEMPLATE_TITLES[template.key];
  const own = String(template.key).startsWith("custom:") ? String(template.key).slice(7) : null;
  return own === null ? template.title : `Plantilla propia «${own}»`;
}

// --- a draft of the open forms, kept when the session ends ---------------------------------------
// A session that ends while someone types (the token expired, or was refused) sends them to sign in;
// signed in again they come back to the same screen, drawn anew. What they had typed in its forms is
// kept in the tab's sessionStorage meanwhile and put back, then forgotten. It is kept when the API
// refuses the credentials (a form sent, a screen or a list loading), and when the page is left (a
// reload, the tab's address typed again): a page that comes back to a session still valid draws its
// screens as they are, one whose session ended keeps the draft for the sign-in. Drafts belong to one
// user of one company (`who`) and to a screen's address each: restored, a form of that screen
// submitted, or the user pressing "Salir" forgets them, and another user signing in on the tab finds
// none (they are dropped unseen). Passwords, files and fields named like a secret are never kept.

const NEVER_KEPT = /pass|secret|token|key_file|api_key|credential/i;

function draftable(control) {
  const type = (control.type || "").toLowerCase();
  if (!control.name || ["password", "file", "hidden", "submit", "button", "reset"].includes(type)) return false;
  return !NEVER_KEPT.test(control.name) && !NEVER_KEPT.test(control.autocomplete || "");
}

function checkable(control) {
  return control.type === "checkbox" || control.type === "radio";
}

function whose(user) {
  return `${user.company_id}\n${user.user_id}`;
}

// {who, screens: {"#/notes": {kind: "ended" | "left", forms: {formId: {name: value}}}}} or null.
function readDrafts() {
  try {
    const drafts = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
    if (drafts && typeof drafts.who === "string" && drafts.screens && typeof drafts.screens === "object") return drafts;
  } catch {
    // unreadable: dropped below
  }
  sessionStorage.removeItem(DRAFT_KEY);
  return null;
}

function writeDrafts(drafts) {
  if (drafts && Object.keys(drafts.screens).length) sessionStorage.setItem(DRAFT_KEY, JSON.stringify(drafts));
  else sessionStorage.removeItem(DRAFT_KEY);
}

// kind: "ended" (the API refused the credentials) or "left" (the page is being left: kept only
// if the session turns out to have ended by the time the page is back; see start()).
function keepDraft(kind) {
  const main = document.getElementById("main");
  if (!state.user || !main.querySelector("[data-screen]")) return; // a screen still loading: nothing typed yet
  const forms = {};
  [...main.querySelectorAll("form")].forEach((form, index) => {
    const fields = {};
    let typed = false;
    for (const control of form.elements) {
      if (!draftable(control)) continue;
      if (checkable(control)) fields[`${control.name}=${control.value}`] = control.checked;
      else {
        fields[control.name] = control.value;
        if (control.tagName !== "SELECT" && control.value !== control.defaultValue) typed = true;
      }
    }
    if (typed) forms[form.id || `#${index}`] = fields; // a form nobody typed in is drawn as it was
  });
  if (!Object.keys(forms).length) return;
  let drafts = readDrafts();
  if (!drafts || drafts.who !== whose(state.user)) drafts = { who: whose(state.user), screens: {} };
  const earlier = drafts.screens[location.hash];
  // A page left after its session ended keeps the draft of that end: the screen was redrawn since.
  if (kind === "left" && earlier && earlier.kind === "ended") return;
  drafts.screens[location.hash] = { kind, forms };
  writeDrafts(drafts);
}

// Forget the draft of the screen at `hash`, or every draft.
function forgetDraft(hash) {
  if (hash === undefined) {
    sessionStorage.removeItem(DRAFT_KEY);
    return;
  }
  const drafts = readDrafts();
  if (!drafts || !(hash in drafts.screens)) return;
  delete drafts.screens[hash];
  writeDrafts(drafts);
}

// The drafts kept when the page was left, taken out of the tab (to be put back by keepLeftDrafts()
// only if the session held then has ended).
function takeLeftDrafts() {
  const drafts = readDrafts();
  if (!drafts) return null;
  const left = Object.entries(drafts.screens).filter(([, draft]) => draft.kind === "left");
  if (!left.length) return null;
  for (const [hash] of left) delete drafts.screens[hash];
  writeDrafts(drafts);
  return { who: drafts.who, screens: Object.fromEntries(left.map(([hash, draft]) => [hash, { ...draft, kind: "ended" }])) };
}

function keepLeftDrafts(left) {
  if (!left) return;
  const drafts = readDrafts();
  if (drafts && drafts.who === left.who) writeDrafts({ who: left.who, screens: { ...left.screens, ...drafts.screens } });
  else writeDrafts(left);
}

function restoreDraft(main) {
  const drafts = readDrafts();
  if (!drafts || !state.user) return;
  if (drafts.who !== whose(state.user)) {
    forgetDraft(); // someone else signed in: the last user's words are not theirs to see
    return;
  }
  const draft = drafts.screens[location.hash];
  if (!draft) return; // kept for the return to that screen
  forgetDraft(location.hash);
  const forms = [...main.querySelectorAll("form")];
  let restored = false;
  for (const [key, fields] of Object.entries(draft.forms || {})) {
    const form = key.startsWith("#") ? forms[Number(key.slice(1))] : forms.find((f) => f.id === key);
    if (!form) continue;
    for (const control of form.elements) {
      if (!draftable(control)) continue;
      const name = checkable(control) ? `${control.name}=${control.value}` : control.name;
      if (!(name in fields)) continue;
      if (checkable(control)) control.checked = Boolean(fields[name]);
      else if (control.tagName === "SELECT" && ![...control.options].some((o) => o.value === fields[name])) continue;
      else control.value = String(fields[name]);
      control.dispatchEvent(new Event(checkable(control) || control.tagName === "SELECT" ? "change" : "input", { bubbles: true }));
      restored = true;
    }
  }
  if (restored) toast("Se recuperó lo que había escrito antes de que terminara la sesión.");
}

// --- what was ticked in a list, kept as drafts are ----------------------------------------------
// Check boxes of a list (the history's messages for "Reenviar los elegidos") are outside any form,
// so the drafts above do not keep them. A screen keeps them here itself, as they change: in the
// tab's sessionStorage, for one user of one company (`who`) and one list address each. They survive
// a reload and a session that ends and is signed into again by the same user; another user signing
// in on the tab finds none (dropped unseen, in signedIn()), and "Salir" forgets them.

// {who, screens: {"#/history?channel=email": ["id", ...]}} or null.
function readPicks() {
  try {
    const picks = JSON.parse(sessionStorage.getItem(PICKED_KEY) || "null");
    if (picks && typeof picks.who === "string" && picks.screens && typeof picks.screens === "object") return picks;
  } catch {
    // unreadable: dropped below
  }
  sessionStorage.removeItem(PICKED_KEY);
  return null;
}

// What the signed-in user had ticked in the list at `address` (an empty list when nothing).
export function keptPicks(address) {
  const picks = readPicks();
  if (!picks || !state.user || picks.who !== whose(state.user)) return [];
  const ids = picks.screens[address];
  return Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : [];
}

// Keep what the signed-in user ticks in the list at `address` (nothing ticked: forgotten).
export function keepPicks(address, ids) {
  if (!state.user) return;
  let picks = readPicks();
  if (!picks || picks.who !== whose(state.user)) picks = { who: whose(state.user), screens: {} };
  if (ids.length) picks.screens[address] = [...ids];
  else delete picks.screens[address];
  if (Object.keys(picks.screens).length) sessionStorage.setItem(PICKED_KEY, JSON.stringify(picks));
  else sessionStorage.removeItem(PICKED_KEY);
}

function forgetPicks() {
  sessionStorage.removeItem(PICKED_KEY);
}

// --- screens and routing ------------------------------------------------------------------------

export function register(screen) {
  if (!screen || !screen.id || typeof screen.render !== "function") return;
  screens.set(screen.id, { group: "", levels: [1, 2, 3, 4], ...screen });
  if (state.user) drawNav();
}

function mayOpen(screen) {
  if (!state.user || !screen.levels.includes(state.user.level)) return false;
  // The server's rule (the declared access of the screen's routes) has the last word.
  const known = state.allowed && state.allowed.get(screen.id);
  return known === undefined ? true : known;
}

function route() {
  const [id, query] = location.hash.replace(/^#\/?/, "").split("?");
  return { id: id || "", params: new URLSearchParams(query || "") };
}

export function navigate(id, params) {
  const query = params ? new URLSearchParams(params).toString() : "";
  location.hash = `#/${id}${query ? `?${query}` : ""}`;
}

function drawNav() {
  const nav = document.getElementById("nav");
  const groups = new Map();
  for (const screen of screens.values()) {
    if (!mayOpen(screen)) continue;
    if (!groups.has(screen.group)) groups.set(screen.group, []);
    groups.get(screen.group).push(screen);
  }
  const current = route().id;
  nav.replaceChildren(
    ...[...groups.entries()].map(([group, items]) =>
      h(
        "section",
        {},
        group ? h("h2", {}, group) : null,
        h(
          "ul",
          {},
          items.map((screen) =>
            h(
              "li",
              {},
              h("a", { href: `#/${screen.id}`, "aria-current": screen.id === current ? "page" : null }, screen.title),
            ),
          ),
        ),
      ),
    ),
  );
}

function firstScreen() {
  for (const screen of screens.values()) if (mayOpen(screen)) return screen.id;
  return null;
}

async function show() {
  if (!state.user) return;
  // This draw, of all started: one started later (the address changed again while this one's calls
  // were under way) is the one the page shows, even when this one's answers come last, as when
  // staff open one client and then another whose register answers sooner.
  const draw = ++state.draws;
  const latest = () => draw === state.draws;
  const main = document.getElementById("main");
  const { id, params } = route();
  if (!id) {
    const first = firstScreen();
    if (first) navigate(first);
    else main.replaceChildren(h("h1", {}, "Consola"), h("p", {}, "No hay pantallas disponibles para su nivel."));
    return;
  }
  drawNav();
  const screen = screens.get(id);
  if (!screen) {
    main.replaceChildren(h("h1", {}, "No encontrada"), h("p", { class: "not-available" }, `No existe la pantalla «${id}».`));
    return;
  }
  if (!mayOpen(screen)) {
    main.replaceChildren(
      h("h1", {}, screen.title),
      h("p", { class: "not-available", role: "alert" }, "Esta pantalla no está disponible para su nivel."),
    );
    return;
  }
  document.title = `${screen.title} · Pregón`;
  const ctx = { user: state.user, params, navigate, toast };
  main.replaceChildren(h("p", { class: "loading" }, "Cargando…"));
  const body = h("div", { class: "screen", "data-screen": id });
  // The session this screen is drawn for: if it ends while the screen loads (its calls refused, the
  // sign-in shown), the screen is not drawn over the sign-in, where whatever was typed into it would
  // be lost with no one signed in to keep it for.
  const session = state.session;
  const current = () => session === state.session && state.user && !state.ending;
  try {
    await screen.render(body, ctx);
    if (current() && latest()) {
      main.replaceChildren(body);
      restoreDraft(body);
    }
  } catch (error) {
    if (!current() || !latest()) return;
    main.replaceChildren(h("h1", {}, screen.title), h("p", { class: "form-error", role: "alert" }, error.message || String(error)));
  }
}

// --- sign-in ------------------------------------------------------------------------------------

// `signIn`: the user has just signed in (not a reload of a session still valid): their mail is read
// again then, as a3ASESOR does "cada vez que inicias sesión" (H3; docs/mailboxes.md).
async function signedIn(signIn = false) {
  const me = await api("GET", "/console/me");
  company = null;
  await companyFormat(); // before anything is drawn: every time on every screen is in its zone
  state.session += 1;
  state.ending = false;
  state.user = me.user;
  state.allowed = new Map(me.screens.map((screen) => [screen.id, screen.allowed]));
  const picks = readPicks();
  if (picks && picks.who !== whose(state.user)) forgetPicks(); // another user's ticks are not theirs
  const level = LEVEL_NAMES[me.user.level] || "";
  document.getElementById("who").textContent =
    `${me.user.name} · ${me.user.company_id} · nivel ${me.user.level} (${level})`;
  document.getElementById("sign-out").hidden = false;
  document.getElementById("menu").hidden = false;
  drawNav();
  if (signIn) api("POST", "/mailboxes/sync").catch(() => {}); // their own and the office's mailboxes; nothing waits for it
  await show();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.session += 1;
  state.ending = false;
  state.user = null;
  state.allowed = null;
  company = null; // the next sign-in may be another company's
  document.getElementById("who").textContent = "";
  document.getElementById("sign-out").hidden = true;
  document.getElementById("menu").hidden = true;
  openMenu(false);
  document.getElementById("nav").replaceChildren();
  start();
}

async function localSignIn(main, identity) {
  const company = h("input", { id: "signin-company", name: "company_id", value: "demo", required: true, autocomplete: "organization" });
  const user = h("select", { id: "signin-user", name: "user_id" }); // (always one picked: the first user)
  const level = h("select", { id: "signin-level", name: "level" }, [1, 2, 3, 4].map((n) => h("option", { value: n }, `${n} · ${LEVEL_NAMES[n]}`)));
  let users = [];
  let loadedFor = null;
  async function loadUsers() {
    // A "change" fires again when focus leaves the company box after the user was picked: reload
    // (and reset the pick to the first user) only when the company itself changed.
    const companyId = company.value.trim();
    if (companyId === loadedFor) return;
    loadedFor = companyId;
    const answer = await fetch(`${identity.url}/users?company_id=${encodeURIComponent(companyId)}`, {
      credentials: "omit",
      headers: { "Accept-Language": "es" },
    }).then((r) => r.json());
    if (companyId !== loadedFor) return; // the company changed again while this list was loading
    users = answer.users;
    user.replaceChildren(...users.map((u) => h("option", { value: u.user_id }, `${u.name} (${u.user_id})`)));
    level.value = String(users[0].level);
  }
  user.addEventListener("change", () => {
    const picked = users.find((u) => u.user_id === user.value);
    if (picked) level.value = String(picked.level);
  });
  company.addEventListener("change", loadUsers);
  const form = h(
    "form",
    { class: "card sign-in", id: "sign-in-form", novalidate: true },
    h("h1", {}, "Ingresar a la consola"),
    h("p", { class: "hint" }, "Identidad local del stack: elija un usuario de demostración y su nivel."),
    h("label", { for: "signin-company" }, "Empresa"),
    company,
    h("label", { for: "signin-user" }, "Usuario de demostración"),
    user,
    h("label", { for: "signin-level" }, "Nivel"),
    level,
    hintFor(level, { tag: "p", class: "hint" }, "El directorio de personal conserva el nivel con que un usuario ingresó la primera vez."),
    h("button", { type: "submit" }, "Ingresar"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const picked = users.find((u) => u.user_id === user.value);
    try {
      const response = await fetch(`${identity.url}/token`, {
        method: "POST",
        credentials: "omit",
        // The identity server answers its errors in the caller's language, as the API does.
        headers: { "Content-Type": "application/json", "Accept-Language": "es" },
        body: JSON.stringify({
          company_id: company.value.trim(),
          user_id: user.value,
          level: Number(level.value),
          name: picked ? picked.name : undefined,
        }),
      });
      const answer = await response.json();
      if (!response.ok) {
        const fields = {};
        for (const item of answer.errors || []) if (item.field && !(item.field in fields)) fields[item.field] = item.message;
        throw new ApiError(response.status, answer.message, fields);
      }
      sessionStorage.setItem(TOKEN_KEY, answer.id_token);
      await signedIn(true);
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      showErrors(form, error);
    }
  });
  main.replaceChildren(form);
  try {
    await loadUsers();
  } catch (error) {
    showErrors(form, new ApiError(0, `No responde la identidad local (${identity.url}).`));
  }
  company.focus();
}

// Cognito's hosted UI: authorization code with PKCE (RFC 7636). Only the one-time code comes back in
// the URL; the tokens arrive in the answer of a POST and are kept in sessionStorage.
function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri() {
  return `${location.origin}${location.pathname}`;
}

async function cognitoSignIn(main, identity) {
  const params = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  if (params.get("code") && saved && params.get("state") === saved.state) {
    history.replaceState(null, "", `${location.pathname}${saved.hash || ""}`); // the code leaves the URL
    sessionStorage.removeItem(PKCE_KEY);
    const response = await fetch(`${identity.url}/oauth2/token`, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: identity.client_id,
        code: params.get("code"),
        redirect_uri: redirectUri(),
        code_verifier: saved.verifier,
      }),
    });
    const answer = await response.json();
    if (response.ok && answer.id_token) {
      sessionStorage.setItem(TOKEN_KEY, answer.id_token);
      await signedIn(true);
      return;
    }
    toast(`Cognito no aceptó el ingreso: ${answer.error || response.status}`, "error");
  }
  const button = h("button", { type: "button" }, "Ingresar con la cuenta de la empresa");
  button.addEventListener("click", async () => {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const stateValue = base64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state: stateValue, hash: location.hash }));
    const query = new URLSearchParams({
      response_type: "code",
      client_id: identity.client_id,
      redirect_uri: redirectUri(),
      scope: "openid email profile",
      state: stateValue,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    location.assign(`${identity.url}/oauth2/authorize?${query}`);
  });
  main.replaceChildren(h("div", { class: "card sign-in" }, h("h1", {}, "Ingresar a la consola"), button));
  button.focus();
}

async function start() {
  const main = document.getElementById("main");
  if (!state.config) {
    try {
      state.config = await api("GET", "/console/config");
    } catch (error) {
      main.replaceChildren(h("p", { class: "form-error", role: "alert" }, error.message));
      return;
    }
  }
  // What was typed when the page was last left (a reload): a session still valid draws its screens
  // anew, as always; one that ended meanwhile keeps it for the same user's sign-in.
  const left = takeLeftDrafts();
  if (token()) {
    try {
      await signedIn();
      return;
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      if (!error.credentialsRefused) toast(error.message, "error");
    }
  }
  keepLeftDrafts(left);
  const identity = state.config.identity;
  if (identity.kind === "local") await localSignIn(main, identity);
  else if (identity.kind === "cognito") await cognitoSignIn(main, identity);
  else main.replaceChildren(h("p", { class: "form-error" }, "No hay una identidad configurada para ingresar."));
}

// After a navigation, the keyboard and screen readers start at the screen's content.
window.addEventListener("hashchange", async () => {
  openMenu(false); // a screen picked from the phone's menu: the menu gives the screen its room back
  await show();
  const main = document.getElementById("main");
  if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
});

// On a phone the navigation is a menu behind the header's "Pantallas" button (on a desktop the
// button is not shown and the navigation is always there): otherwise its two dozen links would
// fill the first screens and push every screen's content out of sight.
function openMenu(open) {
  document.body.classList.toggle("menu-open", open);
  document.getElementById("menu").setAttribute("aria-expanded", String(open));
}

document.addEventListener("submit", guardPress, true);
document.addEventListener("click", guardPress, true);

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("sign-out").addEventListener("click", () => {
    forgetDraft(); // leaving on purpose: nothing is kept for later
    forgetPicks();
    signOut();
  });
  // A form sent (by a signed-in user, not the sign-in form itself): its screen's draft has done its work.
  document.addEventListener("submit", () => state.user && forgetDraft(location.hash), true);
  // A reload (or the address typed again) while signed in: what was typed is kept until the page is
  // back and knows whether the session still holds (start()).
  window.addEventListener("pagehide", () => state.user && !state.ending && keepDraft("left"));
  document.getElementById("menu").addEventListener("click", () => {
    const open = !document.body.classList.contains("menu-open");
    openMenu(open);
    if (open) document.querySelector("#nav a")?.focus();
  });
  const main = document.getElementById("main");
  // Where the keyboard was: when an action removes the focused control (a row deleted, a list or a
  // screen redrawn after a save), focus would fall back to the top of the page, and a keyboard or
  // screen reader user would have to find their place again. It goes to the heading of the part of
  // the screen they were in instead.
  let focusPath = [];
  document.addEventListener("focusin", (event) => {
    focusPath = [];
    for (let node = event.target; node && node !== main; node = node.parentElement) focusPath.push(node);
    if (!focusPath.length || !main.contains(event.target)) focusPath = [];
  });
  new MutationObserver((changes) => {
    for (const change of changes) for (const node of change.addedNodes) if (node.nodeType === 1) scrollTables(node);
    const active = document.activeElement;
    if (focusPath.length && !focusPath[0].isConnected && (!active || active === document.body)) {
      // The same control drawn again (a form saved and its screen redrawn) keeps the focus.
      const path = focusPath;
      focusPath = [];
      const again = path[0].id && document.getElementById(path[0].id);
      if (again && main.contains(again)) {
        again.focus({ preventScroll: true });
        return;
      }
      const anchor = path.find((node) => node.isConnected) || main;
      const part = anchor.closest("section, .card, .b-section");
      const heading = (part && part.querySelector("h2, h3")) || main.querySelector("h1") || main;
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }).observe(main, { childList: true, subtree: true });
  start();
});
