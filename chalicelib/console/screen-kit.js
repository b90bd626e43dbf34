// Small pieces the work screens share (B's screens: sends, history, clients, inbound, notes,
// reminders, documents). Not a screen itself: it registers nothing. Everything a tenant or a client
// typed goes into the page through h() as text, never as markup.
import { api, clearErrors, dayInWords, download, errorText, fill, h, hintFor, segment, showErrors, templateTitle, toast } from "./app.js";

export const ALL_LEVELS = [1, 2, 3, 4];

// What SES's scan judged a received message (the API's ``flagged``): a short mark for lists, and
// what it means for a detail. Such mail was matched to no client and threaded to nothing until
// staff assigned it.
export const FLAGGED = {
  spam: ["Spam", "SES lo consideró spam: no se asignó a ningún cliente. Si no lo es, asígnelo."],
  virus: ["Virus", "SES encontró un virus en el mensaje: no se asignó a ningún cliente y sus adjuntos no se guardaron."],
};

// Once staff assigned such a message to a client (register, history), what the mark means there.
const FLAGGED_ASSIGNED = {
  spam: "SES lo consideró spam; se asignó a mano a este cliente.",
  virus: "SES encontró un virus en el mensaje; se asignó a mano y sus adjuntos no se guardaron.",
};

// The detail line of a message SES flagged: what the mark means (null when it passed).
export function flaggedNote(message) {
  if (!message.flagged) return null;
  const text = message.client_id ? FLAGGED_ASSIGNED[message.flagged] : FLAGGED[message.flagged]?.[1];
  return text || message.flagged;
}

// What machine sent a received e-mail (the API's ``auto_submitted``, docs/inbound-email.md): a
// short mark for lists, and what it means for a detail. None of it is the client writing.
export const AUTO_SUBMITTED = {
  auto_reply: ["Respuesta automática", "Respuesta automática (fuera de la oficina, filtro antispam): no la escribió el cliente. No se avisa a los webhooks ni se responde."],
  delivery_report: ["Aviso de entrega", "Aviso del servidor de correo sobre un envío: si no se pudo entregar, el mensaje al que responde quedó rebotado (y, si el fallo es permanente, la dirección en la lista de supresión)."],
  read_receipt: ["Acuse de lectura", "Acuse de lectura del mensaje al que responde: no es una respuesta del cliente."],
  auto_generated: ["Automático", "Correo generado por una máquina (masivo, no-reply o sin remitente): no se avisa a los webhooks ni se responde."],
};

// A received e-mail's mark in a list: SES's judgement, else what machine sent it ("" for neither).
export function mailMark(message) {
  if (message.flagged)
    return h("strong", { class: "b-flagged", title: FLAGGED[message.flagged]?.[1] || "" }, FLAGGED[message.flagged]?.[0] || message.flagged);
  if (message.auto_submitted)
    return h("span", { class: "b-automatic", title: AUTO_SUBMITTED[message.auto_submitted]?.[1] || "" }, AUTO_SUBMITTED[message.auto_submitted]?.[0] || message.auto_submitted);
  return "";
}

// The detail line of a received e-mail a machine sent (null for a person's).
export function autoSubmittedNote(message) {
  if (!message.auto_submitted) return null;
  return AUTO_SUBMITTED[message.auto_submitted]?.[1] || message.auto_submitted;
}

// The company's time zone and locale (Z1) and the time format that uses them live in app.js,
// read once per sign-in; the work screens import them from here as before.
export { companyFormat, when } from "./app.js";

// What the API's codes read as for a person (the code itself when it has no label here).
const LABELS = {
  sent: "Enviado",
  not_sent: "No enviado",
  bounced: "Rebotado",
  received: "Recibido",
  automatic: "Automático",
  manual: "Manual",
  queued: "En cola",
  failed: "Falló",
  suppressed: "Suprimido",
  recorded: "Registrado",
  delivered: "Entregado",
  complained: "Marcado como spam por el destinatario",
  call: "Llamada",
  visit: "Visita",
  email: "E-mail",
  meeting: "Reunión",
  other: "Otro",
  sms: "SMS",
  push: "Push",
  out: "Enviado",
  in: "Recibido",
  note: "Manual",
  client: "El cliente",
  staff: "Nosotros",
  expanding: "preparando",
  sending: "enviando",
  done: "terminado",
  no_email: "sin e-mail",
  no_open_movements: "sin movimientos abiertos",
};

// What a message is, as a person reads it: a template's title (the default ones by name, a
// company's own one as «Plantilla propia «aviso»»), and the messages no template makes by what they
// are. The API writes its code ("custom:aviso", "sms_auto_reply"), which the detail showed as it came.
const MESSAGE_TYPE_NAMES = {
  reply: "Respuesta desde el registro",
  sms_auto_reply: "Respuesta automática por SMS",
  sms_inbound: "SMS recibido",
  register_notice: "Aviso de un registro a un colega",
  tracking_confirmation: "Confirmación de suscripción",
};

export function messageTypeName(code) {
  return MESSAGE_TYPE_NAMES[code] || templateTitle({ key: code, title: code });
}

// What a message is called in a list or a heading (the history, a client's register, the inbound mail): its subject; an SMS or a push, which have none,
// by what it is ("SMS recibido", "Respuesta automática por SMS", the template's title).
export function messageName(m) {
  return m.subject || (m.message_type ? messageTypeName(m.message_type) : "(sin asunto)");
}

export function label(code) {
  return code == null ? "" : LABELS[code] || String(code);
}

// A labelled form field; `input` is the control (input, select, textarea); its hint, if any, is
// named by the control (hintFor) so a screen reader says it too.
export function field(label, input, hint) {
  return h("label", { class: "b-field" }, h("span", {}, label), input, hint ? hintFor(input, {}, hint) : null);
}

// A date field with the chosen day said in words beside it ("viernes, 20 de noviembre de 2026"):
// the field itself shows the day in the browser's own format, which in an English browser is
// 11/20/2026 inside a Spanish console. A value put in by the screen (a filter from the address)
// is said once the screen calls sayDays(form).
export function dateField(label, name) {
  const control = input(name, { type: "date", lang: "es" });
  const said = hintFor(control, { tag: "span", class: "b-day-said", "aria-live": "polite" });
  const say = () => {
    said.textContent = dayInWords(control.value);
  };
  control.addEventListener("input", say);
  control.addEventListener("change", say);
  control.addEventListener("b-day", say);
  return h("label", { class: "b-field" }, h("span", {}, label), control, said);
}

export function sayDays(form) {
  for (const control of form.querySelectorAll("input[type=date]")) control.dispatchEvent(new Event("b-day"));
}

export function input(name, attrs = {}) {
  return h("input", { name, id: `b-${name}`, ...attrs });
}

export function select(name, options, value = "", attrs = {}) {
  const control = h(
    "select",
    { name, id: `b-${name}`, ...attrs },
    options.map(([v, text]) => h("option", { value: v }, text)),
  );
  if (options.some(([v]) => v === value)) control.value = value;
  return control;
}

export function textarea(name, attrs = {}) {
  return h("textarea", { name, id: `b-${name}`, rows: "4", ...attrs });
}

// The values of a form's named controls, leaving out empty ones.
export function formValues(form) {
  const values = {};
  for (const [k, v] of new FormData(form).entries()) {
    if (typeof v === "string" && v.trim() !== "") values[k] = v.trim();
  }
  return values;
}

// A table: columns = [[heading, row => cell (node or text)]]; a column with no heading (its
// buttons) is headed "Acciones" for screen readers only.
export function table(columns, rows, attrs = {}) {
  const heading = (title) => title || h("span", { class: "visually-hidden" }, "Acciones");
  return h(
    "table",
    { class: "b-table", ...attrs },
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, heading(title))))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row) ?? "")))),
    ),
  );
}

export function empty(text) {
  return h("p", { class: "b-empty" }, text);
}

// What a received message's HTML may load: nothing from anywhere (a remote image tells its sender
// when, and from where, the message was read); its inline styles and data: images still show.
const RECEIVED_POLICY =
  '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'; font-src data:">';

// A message's HTML exactly as sent, in a sandboxed frame that runs no script (no allow-scripts,
// no allow-same-origin): tenant and client HTML cannot reach the console. ``received``: mail a
// client or a stranger wrote, which also loads nothing from the internet (RECEIVED_POLICY).
export function messageFrame(html, title = "Mensaje tal como se envió", { received = false } = {}) {
  if (!html) return null;
  const srcdoc = received ? RECEIVED_POLICY + html : html;
  return h("iframe", { class: "b-message", sandbox: "", srcdoc, title, referrerpolicy: "no-referrer" });
}

// Why a file was not kept, as the API says it, in the console's words.
export const OMITTED = {
  "omitted (too large)": "no se guardó: demasiado grande",
  "withheld (SES found a virus in the message)": "retenido: se encontró un virus en el mensaje",
};

// A file's size for a person: "850 bytes", "12,4 kB", "3,1 MB".
export function fileSize(bytes) {
  if (bytes == null) return "?";
  if (bytes < 1000) return `${bytes} bytes`;
  const [value, unit] = bytes < 1000 * 1000 ? [bytes / 1000, "kB"] : [bytes / (1000 * 1000), "MB"];
  return `${value.toLocaleString("es", { maximumFractionDigits: 1 })} ${unit}`;
}

// Attachments with their short-lived download links.
export function attachmentList(items) {
  if (!items || !items.length) return null;
  return h(
    "ul",
    { class: "b-attachments" },
    items.map((a) =>
      h(
        "li",
        {},
        a.download_url
          ? h("a", { href: a.download_url, rel: "noopener noreferrer", target: "_blank" }, a.name)
          : h("span", {}, a.name),
        ` (${fileSize(a.size)}${a.omitted ? `, ${OMITTED[a.omitted] || a.omitted}` : ""}${a.deleted_at ? ", borrado" : ""}${a.added_by ? `, adjuntado por ${a.added_by_name || a.added_by}` : ""})`,
      ),
    ),
  );
}

// Show an API error in a toast, in the words of the fields it names (errorText() in app.js).
export function showError(err) {
  toast(errorText(err), "error");
}

// Run an async action from a button or form, reporting an error instead of throwing it: next to
// the fields of `form` it names (or at the top of `form`) when a form is given, else in a toast.
export async function attempt(action, form) {
  if (form) clearErrors(form);
  try {
    return await action();
  } catch (err) {
    if (form) showErrors(form, err);
    else showError(err);
    return undefined;
  }
}

export function requestId() {
  if (globalThis.crypto && crypto.randomUUID) return `console-${crypto.randomUUID()}`;
  return `console-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function query(values) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== "") params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : "";
}

// Poll a job until `done(job)`; `draw(job)` after each answer. Stops when the screen is left (the
// element `alive` was in the page and is no longer; a screen is drawn before the shell shows it).
// A refusal (a job that is not found, or not the user's) stops it and goes to `failed(err)`: a toast
// unless the screen says it in place. `path` may be a function that builds the path: a job id that
// segment() refuses (app.js: "..", an empty one) then goes to `failed` too, with no request made.
export async function follow(path, alive, draw, done, everyMs = 700, failed = showError) {
  let shown = false;
  for (let polls = 0; ; polls += 1) {
    if (alive.isConnected) shown = true;
    else if (shown || polls > 50) return null;
    let job;
    try {
      job = await api("GET", typeof path === "function" ? path() : path);
    } catch (err) {
      failed(err);
      return null;
    }
    draw(job);
    if (done(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

// The company's clients, a page of up to 200 at a time (for pickers).
export async function clientPage(cursor) {
  return api("GET", `/clients${query({ limit: 200, cursor })}`);
}

// Read a File as base64 (for the attachment upload the API takes as JSON).
export function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// A detail a button opened below a list: scrolled into view, and the keyboard's place (and a screen
// reader's) moved to its heading, instead of staying on the button with nothing said.
export function reveal(box) {
  const heading = box.querySelector("h1, h2, h3") || box;
  if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
  heading.focus({ preventScroll: true });
  box.scrollIntoView({ block: "nearest" });
}

export function section(title, ...children) {
  return h("section", { class: "b-section" }, h("h2", {}, title), ...children);
}

// «Descargar Excel» of a listing (the history, a client's register, the notes report): the file at
// once when it fits in one request (10,000 rows); past that the API answers ExportTooLarge and the
// export is built in the background (`POST <exports>` with the same filters): its rows written so far
// shown in `box` while it runs, then a button that asks for a fresh link (each lasts 5 minutes) and
// saves the file; a failed export says why (the API's reason, in the user's language).
// `rows`: what its rows are, as [plural, "los"/"las", "escritos"/"escritas"] (["mensajes", "los",
// "escritos"], ["notas", "las", "escritas"]); `ids`: the prefix of the id of the button that saves it.
export async function downloadExcel({ file, name, exports, filters, box, rows, ids }) {
  try {
    await download(file, name);
  } catch (err) {
    if (err && err.code === "ExportTooLarge") await exportInBackground(exports, filters, box, rows, ids);
    else showError(err);
  }
}

async function exportInBackground(exports, filters, box, [rows, many, done], ids) {
  const started = await attempt(() => api("POST", exports, filters));
  if (!started) return;
  const path = () => `${exports}/${segment(started.export_id)}`;
  const draw = (job) => {
    if (job.state === "done") {
      fill(
        box,
        h("p", {}, `El Excel está listo: ${job.rows.toLocaleString("es")} ${rows}. `),
        h("button", { type: "button", id: `${ids}-export-file`, onclick: () => saveExport(path) }, "Guardar el Excel"),
      );
    } else if (job.state === "failed" || job.state === "expired") {
      fill(box, h("p", { class: "error" }, job.state === "failed" ? `No se pudo exportar: ${job.error}` : "La exportación venció: pídala de nuevo."));
    } else {
      const written = job.rows.toLocaleString("es");
      fill(box, h("p", {}, `Son más ${rows} de ${many} que se descargan al instante: el Excel se prepara en segundo plano (${written} ${rows} ${done})…`));
    }
  };
  draw(started);
  await follow(path, box, draw, (job) => !["queued", "running"].includes(job.state), 1500);
}

// Save a background job's file (an export, a client's data report): a fresh link asked for each time.
export async function saveExport(path, gone = "La exportación ya no está disponible: pídala de nuevo.") {
  const job = await attempt(() => api("GET", path()));
  if (!job || !job.download_url) {
    if (job) toast(gone, "error");
    return;
  }
  // A link S3 signed for 5 minutes, answered as an attachment: the browser saves it, the page stays.
  const link = h("a", { href: job.download_url, download: "" });
  document.body.appendChild(link);
  link.click();
  link.remove();
}
