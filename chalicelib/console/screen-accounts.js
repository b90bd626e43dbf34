// Sender accounts (C1, C3, C5): one per area (and `all`, the fallback) and personal ones; the password
// is set by its own write-only call and never shown back; a test send shows the server's own answer.
// E-mails queued for an area whose account is missing, disabled or incomplete wait (never moved to
// `all`): the screen says so on the area, a deleted one's too, and asks before disabling or deleting
// an account that e-mails wait for.
import { api, areaName, clearErrors, fill, h, register, segment, showErrors, when } from "./app.js";

const AREAS = ["all", "tracking", "tickets", "invoices", "payments", "clients", "reminders", "documents"];
const FIELDS = [
  ["display_name", "Nombre visible", "text"],
  ["from_address", "Dirección del remitente", "email"],
  ["reply_to", "Responder a (vacío: la dirección de entrada de la empresa)", "email"],
  ["smtp_host", "Servidor SMTP", "text"],
  ["smtp_port", "Puerto", "number"],
  ["username", "Usuario", "text"],
  ["ses_identity", "Identidad de SES", "text"],
];

function field(prefix, name, label, type, value) {
  const id = `${prefix}-${name.replace(/\W/g, "-")}`;
  return h(
    "span",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, name, type, value: value ?? "", autocomplete: "off" }),
  );
}

function choice(prefix, name, label, options, value) {
  const id = `${prefix}-${name}`;
  return h(
    "span",
    { class: "field" },
    h("label", { for: id }, label),
    h("select", { id, name }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))),
  );
}

function accountBody(form) {
  const value = (name) => form.elements[name].value.trim();
  const body = {
    kind: value("kind"),
    display_name: value("display_name"),
    from_address: value("from_address"),
    encryption: value("encryption"),
    enabled: form.elements.enabled.checked,
  };
  for (const name of ["reply_to", "smtp_host", "username", "ses_identity"]) if (value(name)) body[name] = value(name);
  if (value("smtp_port")) body.smtp_port = Number(value("smtp_port"));
  if (value("rate_limit.messages") || value("rate_limit.hours")) {
    body.rate_limit = { messages: Number(value("rate_limit.messages")), hours: Number(value("rate_limit.hours")) };
  }
  return body;
}

// The password is bound to where it logs in (decision 0004): saving another server, port or user
// removes it. What such a change is called, by the fields that changed ("el usuario", "el servidor
// y el puerto"), and, by account path, why a card's password was removed by its last save (said on
// its status line until a password is saved again).
const DESTINATION = [["smtp_host", "el servidor"], ["smtp_port", "el puerto"], ["username", "el usuario"]];
const passwordRemoved = new Map();

function destinationChange(form, a) {
  const changed = DESTINATION.filter(([name]) => form.elements[name].value.trim() !== String(a[name] ?? "")).map(([, what]) => what);
  return changed.length > 1 ? `${changed.slice(0, -1).join(", ")} y ${changed.at(-1)}` : changed[0] || "";
}

// An account's state as the card's status line says it (`removed`: why its password was removed).
function statusText(a, removed = "") {
  const password = a.password_set ? "guardada" : removed ? `sin cargar: se borró al cambiar ${removed}; cárguela de nuevo` : "sin cargar";
  return (
    `${a.working ? "Funciona" : "No funciona"} · contraseña ${password} · cambiada ${when(a.updated_at)}` +
    (a.from_allowed_by ? ` · remitente permitido por ${a.from_allowed_by_name || a.from_allowed_by}` : "")
  );
}

// One account's editor: settings, password, test send, delete. `path` is its API path; `changed` (if
// given) is awaited after each saved change, e.g. to draw the card again with the API's new state.
// `waiting` (from GET /sender-accounts, or a user's own account's GET) warns of e-mails waiting for
// the account, and asks before a save that disables it or its deletion leaves them waiting; `personal`:
// a user's own account (C5), whose e-mails wait for the user's next account, not the area's. Shared
// with the signed-in user's own account screen (screen-my-account.js).
export function accountCard(title, prefix, path, account, ctx, { testable, deletable = false, changed = null, empty = "Sin cuenta propia.", heading = title, blank = {}, waiting = null, redrawOnPassword = true, reread = null, personal = false, called = `Cuenta ${title}` }) {
  const a = account || { kind: "smtp", encryption: "starttls", enabled: true, ...blank };
  const warning = waitingWarning(waiting, prefix);
  if (warning) {
    // giving up on them: each is recorded failed in the history, with who cancelled it
    const cancel = h(
      "form",
      { id: `${prefix}-waiting-cancel-form`, class: "row", "aria-label": `${title}: cancelar los correos en espera` },
      h("button", { type: "submit", class: "secondary" }, "Cancelar los correos en espera"),
    );
    cancel.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(cancel);
      if (!confirm(`¿Cancelar ${waiting.count_shown === "1" ? "el correo que espera" : `los ${waiting.count_shown} correos que esperan`} a esta cuenta? No se enviarán: quedan como fallidos en el historial.`)) return;
      try {
        const done = await api("POST", `${path}/waiting/cancel`);
        ctx.toast(cancelled(done));
        if (changed) await changed();
      } catch (error) {
        showErrors(cancel, error);
      }
    });
    warning.append(cancel);
  }
  const enabled = h("input", { type: "checkbox", id: `${prefix}-enabled`, name: "enabled", checked: a.enabled });
  const status = h("p", { class: "hint account-status" }, account ? statusText(a, passwordRemoved.get(path)) : empty);
  // Said while the server, port or user typed differ from the saved ones of an account with a password.
  const rebound = h("p", { class: "hint password-rebound", id: `${prefix}-password-rebound`, role: "status" });
  const settings = h(
    "form",
    { id: `${prefix}-form`, "aria-label": `${title}: configuración` },
    h(
      "div",
      { class: "row" },
      choice(prefix, "kind", "Tipo", [["smtp", "SMTP"], ["ses", "Amazon SES"]], a.kind),
      FIELDS.map(([name, label, type]) => field(prefix, name, label, type, a[name])),
      choice(prefix, "encryption", "Cifrado", [["none", "Ninguno"], ["starttls", "STARTTLS"], ["tls", "TLS"]], a.encryption || "none"),
      field(prefix, "rate_limit.messages", "Límite: mensajes", "number", a.rate_limit ? a.rate_limit.messages : ""),
      field(prefix, "rate_limit.hours", "cada (horas)", "number", a.rate_limit ? a.rate_limit.hours : ""),
      h("label", { for: enabled.id }, enabled, " habilitada"),
    ),
    rebound,
    h("button", { type: "submit" }, "Guardar cuenta"),
  );
  settings.addEventListener("input", () => {
    const what = account && a.password_set ? destinationChange(settings, a) : "";
    rebound.textContent = what ? `Al cambiar ${what} se borra la contraseña guardada (vale solo para el servidor y el usuario con que se cargó): cárguela de nuevo después de guardar.` : "";
  });
  settings.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(settings);
    const wanted = accountBody(settings);
    if (waiting && a.enabled && !wanted.enabled && !confirm(leaveWaiting(waiting, "deshabilita", personal))) return;
    try {
      // saved only if no one else saved (or removed and set up again) the account since this card
      // loaded it; none yet: only if no one set one up meanwhile ("0")
      const what = account && a.password_set ? destinationChange(settings, a) : "";
      const saved = await api("PUT", path, wanted, { ifMatch: a.etag || '"0"' });
      a.etag = saved.etag;
      if (what && !saved.password_set) passwordRemoved.set(path, what);
      ctx.toast(what && !saved.password_set ? `${called} guardada. Se borró su contraseña al cambiar ${what}: cárguela de nuevo.` : `${called} guardada.`);
      if (changed) await changed();
    } catch (error) {
      showErrors(settings, error);
    }
  });

  const password = h("input", { id: `${prefix}-password`, name: "password", type: "password", autocomplete: "new-password" });
  const passwordForm = h(
    "form",
    { id: `${prefix}-password-form`, class: "row", "aria-label": `${title}: contraseña` },
    h("span", { class: "field" }, h("label", { for: password.id }, "Nueva contraseña (no se vuelve a mostrar)"), password),
    h("button", { type: "submit" }, "Guardar contraseña"),
  );
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(passwordForm);
    try {
      await api("PUT", `${path}/password`, { password: password.value });
      password.value = "";
      passwordRemoved.delete(path);
      ctx.toast("Contraseña guardada.");
      if (changed && redrawOnPassword) await changed();
      // Not drawn again (what was typed in the other forms stays): the card's status line still
      // said "No funciona · contraseña sin cargar" beside the toast. It says what the API says now.
      else if (reread) {
        const now = await reread().catch(() => null); // the password is saved whatever this says
        if (now) {
          Object.assign(a, now); // its password is set now (a later change of user says it removes it)
          status.textContent = statusText(now);
        }
      }
    } catch (error) {
      showErrors(passwordForm, error);
    }
  });

  let testForm = null;
  if (testable) {
    const to = h("input", { id: `${prefix}-test-to`, name: "to", type: "email", autocomplete: "email" });
    const answer = h("p", { class: "answer test-answer", role: "status" });
    testForm = h(
      "form",
      { id: `${prefix}-test-form`, class: "row", "aria-label": `${title}: prueba` },
      h("span", { class: "field" }, h("label", { for: to.id }, "Enviar un mensaje de prueba a"), to),
      h("button", { type: "submit" }, "Probar"),
      answer,
    );
    testForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(testForm);
      answer.textContent = "Enviando…";
      try {
        const result = await api("POST", `${path}/test`, { to: to.value.trim() });
        answer.textContent = result.ok ? `Enviado (id ${result.message_id}).` : `No se envió: ${result.error}`;
        answer.className = `answer test-answer ${result.ok ? "ok" : "form-error"}`;
      } catch (error) {
        answer.textContent = "";
        // No password yet: said at the password field above, in the console's words (the API's
        // message names its route, which a clerk has no use for).
        if (error.fields && error.fields.password) {
          const fields = { password: "Cargue aquí la contraseña de la cuenta y pruebe de nuevo: la cuenta inicia sesión con un usuario." };
          showErrors(passwordForm, { status: error.status, fields });
        } else showErrors(testForm, error);
      }
    });
  }
  let deleteForm = null;
  if (deletable && account) {
    deleteForm = h(
      "form",
      { id: `${prefix}-delete-form`, class: "row", "aria-label": `${title}: borrar` },
      h("button", { type: "submit", class: "secondary" }, "Borrar la cuenta"),
    );
    deleteForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(deleteForm);
      if (waiting && !confirm(leaveWaiting(waiting, "borra", personal))) return;
      try {
        await api("DELETE", path);
        ctx.toast(`${called} borrada.`);
        if (changed) await changed();
      } catch (error) {
        showErrors(deleteForm, error);
      }
    });
  }
  return h("section", { class: "card", "data-account": prefix }, h("h2", {}, heading), warning, status, settings, passwordForm, testForm, deleteForm);
}

// What a cancel did: how many it gave up on, and those it could not take now (one a drain holds, or
// in a retry's wait), to cancel again later.
function cancelled(done) {
  const gone = done.cancelled === 1 ? "1 correo cancelado." : `${done.cancelled} correos cancelados.`;
  return done.waiting ? `${gone} ${mails(done.waiting)} todavía: vuelva a cancelar en unos minutos.` : gone;
}

function mails(waiting) {
  return waiting.count_shown === "1" ? "1 correo espera" : `${waiting.count_shown} correos esperan`;
}

// What waits for an account that cannot send it (none when nothing waits, or the account works and
// its e-mails are only queued, say behind its send-rate limit).
function waitingWarning(waiting, prefix) {
  if (!waiting || waiting.account === "working") return null;
  const since = waiting.oldest_shown ? ` desde el ${waiting.oldest_shown}` : "";
  const act = waiting.account === "missing" ? "agréguela de nuevo" : waiting.account === "disabled" ? "actívela" : "complétela";
  return h(
    "div",
    { class: "account-waiting", id: `${prefix}-waiting-box` },
    h("p", { class: "form-error", role: "alert", id: `${prefix}-waiting` }, `${mails(waiting)} a esta cuenta${since}: ${act} para que salgan.`),
  );
}

function leaveWaiting(waiting, verb, personal = false) {
  const until = personal ? "el usuario vuelva a tener una cuenta propia" : "el área vuelva a tener una cuenta";
  return `${mails(waiting)} a esta cuenta. Si la ${verb}, no salen (ni por la cuenta general) hasta que ${until} que funcione. ¿Continuar?`;
}

// A user's own account and what waits for it: its GET says both; once it is deleted (404), what
// still waits for it comes from `/waiting`.
export async function personalAccount(path) {
  try {
    const account = await api("GET", path);
    return { account, waiting: account.waiting || null };
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  return { account: null, waiting: (await api("GET", `${path}/waiting`)).waiting };
}

async function personal(ctx, userId, changed) {
  const path = `/users/${segment(userId)}/sender-account`;
  const { account, waiting } = await personalAccount(path);
  return accountCard(`Cuenta personal de ${userId}`, "personal", path, account, ctx, {
    called: `Cuenta personal de ${userId}`,
    testable: true,
    deletable: true,
    changed,
    waiting,
    personal: true,
  });
}

const PERSONAL = "user:";

// Where an entry of `waiting` is handled, and what it is called: an area's account, or a user's own.
function waitingPlace(w) {
  if (w.area.startsWith(PERSONAL)) {
    const user = w.area.slice(PERSONAL.length);
    return [`#/accounts?user=${encodeURIComponent(user)}`, `Cuenta personal de ${user}`];
  }
  return [`#/accounts?area=${encodeURIComponent(w.area)}`, areaName(w.area)];
}

const percent = (rate) => `${(rate * 100).toLocaleString("es-AR", { maximumFractionDigits: 2 })} %`;

// The company's own rates on Pregón's SES (decision 0032), and the pause they caused: null when no
// account sends through Pregón's SES.
function sesReputation(r) {
  if (!r) return null;
  const t = r.thresholds;
  return h(
    "div",
    { id: "ses-reputation" },
    r.paused
      ? h("p", { class: "form-error", role: "alert", id: "ses-paused" }, `Pregón pausó los correos de la empresa por su SES desde el ${r.paused_shown || r.paused_at}: demasiados rebotes definitivos o denuncias de spam. Esperan en la cola, no se pierden, hasta que Pregón los reanude; las cuentas SMTP propias siguen enviando.`)
      : null,
    h("p", { class: "hint", id: "ses-rates" }, `Por el SES de Pregón, últimas ${r.hours} h: ${r.sent} enviados, ${r.hard_bounces} rebotes definitivos (${percent(r.bounce_rate)}), ${r.complaints} denuncias de spam (${percent(r.complaint_rate)}). Pregón pausa el envío desde ${percent(t.bounce_rate)} de rebotes o ${percent(t.complaint_rate)} de denuncias, con ${t.min_sent} enviados o más.`),
  );
}

async function render(main, ctx) {
  const listed = await api("GET", "/sender-accounts");
  const byArea = new Map(listed.items.map((account) => [account.area, account]));
  const waitingByArea = new Map(listed.waiting.map((w) => [w.area, w]));
  const stuck = listed.waiting.filter((w) => w.account !== "working");
  const area = ctx.params.get("area") || "all";
  const user = ctx.params.get("user") || ctx.user.user_id;
  const areaPicker = h(
    "select",
    { id: "account-area" },
    AREAS.map((name) => h("option", { value: name, selected: name === area }, `${areaName(name)}${byArea.has(name) ? "" : " (sin cuenta)"}`)),
  );
  areaPicker.addEventListener("change", () => ctx.navigate("accounts", { area: areaPicker.value }));
  const userField = h("input", { id: "account-user", value: user });
  const userForm = h(
    "form",
    { class: "row" },
    h("span", { class: "field" }, h("label", { for: "account-user" }, "Usuario"), userField),
    h("button", { type: "submit", class: "secondary" }, "Ver cuenta personal"),
  );
  userForm.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("accounts", { area, user: userField.value.trim() });
  });
  const held = listed.waiting.filter((w) => w.account === "working" && w.reason);
  fill(main,
    h("h1", {}, "Cuentas de envío"),
    sesReputation(listed.ses_reputation),
    held.length
      ? h(
          "ul",
          { id: "accounts-held", class: "form-error", role: "alert" },
          held.map((w) => h("li", {}, h("a", { href: waitingPlace(w)[0] }, waitingPlace(w)[1]), `: ${mails(w)}. ${w.reason}`)),
        )
      : null,
    stuck.length
      ? h(
          "ul",
          { id: "accounts-waiting", class: "form-error", role: "alert" },
          stuck.map((w) =>
            h("li", {}, h("a", { href: waitingPlace(w)[0] }, waitingPlace(w)[1]), `: ${mails(w)}${w.oldest_shown ? ` desde el ${w.oldest_shown}` : ""} (${{ missing: "sin cuenta", disabled: "cuenta deshabilitada", incomplete: "cuenta incompleta" }[w.account]})`),
          ),
        )
      : null,
    h(
      "table",
      { id: "sender-accounts" },
      h("thead", {}, h("tr", {}, ["Área", "Remitente", "Servidor", "Estado"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        listed.items.map((a) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("a", { href: `#/accounts?area=${encodeURIComponent(a.area)}` }, areaName(a.area))),
            h("td", {}, `${a.display_name} <${a.from_address}>`),
            h("td", {}, a.kind === "ses" ? `SES ${a.ses_identity || ""}` : `${a.smtp_host || ""}:${a.smtp_port || ""}`),
            h("td", {}, a.working ? "Funciona" : "No funciona"),
          ),
        ),
      ),
    ),
    h("div", { class: "row" }, h("span", { class: "field" }, h("label", { for: "account-area" }, "Área"), areaPicker)),
    accountCard(`Área: ${areaName(area)}`, `area-${area}`, `/sender-accounts/${segment(area)}`, byArea.get(area), ctx, {
      // as a toast names it: «Cuenta del área de tickets guardada.» (it read «Cuenta Área: tickets guardada.»)
      called: area === "all" ? "Cuenta general de la empresa" : `Cuenta del área de ${areaName(area)}`,
      testable: true,
      deletable: true,
      waiting: waitingByArea.get(area) || null,
      changed: () => render(main, ctx),
      // a password can complete an account e-mails wait for (its warning then goes)
      redrawOnPassword: waitingByArea.has(area),
      reread: async () => (await api("GET", "/sender-accounts")).items.find((account) => account.area === area),
    }),
    h("h2", {}, "Cuentas personales"),
    h("p", { class: "hint" }, "Los pedidos salen de la cuenta del usuario responsable y los recordatorios de la del cobrador; si no tienen, de la cuenta de la empresa."),
    userForm,
    await personal(ctx, user, () => render(main, ctx)),
  );
}

register({ id: "accounts", title: "Cuentas de envío", group: "Configuración", levels: [1], render });
