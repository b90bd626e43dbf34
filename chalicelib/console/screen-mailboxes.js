// Staff mailboxes (H3; docs/mailboxes.md): the IMAP mailboxes whose mail to and from clients is
// logged in the register. Every user adds and manages their own; level 1 sees and manages all, and
// only level 1 makes one public (the office's). The password, a Microsoft 365 mailbox's client
// secret or a Google Workspace mailbox's service account key file is set by its own write-only
// call: the screen shows only whether one is set (and, for Google, the service account's address). The
// connection test shows the server's own answer; "sync now" queues a sync the monitor then shows.
import { api, clearErrors, fill, h, hintFor, register, segment, showErrors, when } from "./app.js";

const AUTHS = [
  ["password", "Usuario y contraseña (IMAP)"],
  ["microsoft365", "Microsoft 365 (OAuth2)"],
  ["google", "Google Workspace (cuenta de servicio)"],
];

// What each kind of mailbox signs in with: the name of its write-only field, the route that sets
// it, and how the screen speaks of it.
const SECRETS = {
  password: { field: "password", route: "password", flag: "password_set", name: "contraseña", saved: "Contraseña guardada." },
  microsoft365: { field: "client_secret", route: "client-secret", flag: "client_secret_set", name: "secreto de cliente", saved: "Secreto de cliente guardado." },
  google: { field: null, route: "service-account-key", flag: "service_account_key_set", name: "clave de la cuenta de servicio", saved: "Clave de la cuenta de servicio guardada." },
};
const ENCRYPTIONS = [
  ["tls", "TLS"],
  ["starttls", "STARTTLS"],
  ["none", "Ninguno"],
];
const VISIBILITIES = [
  ["private", "Privado (su dueño y el nivel 1)"],
  ["public", "Público (de la oficina)"],
];

function field(id, label, control, hint) {
  control.id = id;
  return h(
    "span",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? hintFor(control, { class: "hint" }, hint) : null,
  );
}

function choice(name, options, value) {
  return h("select", { name }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

function text(name, value, attrs = {}) {
  return h("input", { name, value: value ?? "", autocomplete: "off", ...attrs });
}

function shown(element, yes) {
  element.hidden = !yes;
  element.style.display = yes ? "" : "none"; // the CSSOM: .row's display would win over [hidden]
}

function secretSet(m) {
  if (m.auth === "google") {
    return m.service_account_key_set ? `clave de ${m.service_account} guardada` : "sin clave de la cuenta de servicio";
  }
  return m.auth === "microsoft365"
    ? m.client_secret_set
      ? "secreto de cliente guardado"
      : "sin secreto de cliente"
    : m.password_set
      ? "contraseña guardada"
      : "sin contraseña";
}

function server(m) {
  if (m.auth === "google") return `Google Workspace (${m.host}:${m.port})`;
  return m.auth === "microsoft365"
    ? `Microsoft 365 (${m.host}:${m.port})`
    : `${m.host}:${m.port} (${m.encryption === "none" ? "sin cifrado" : m.encryption.toUpperCase()})`;
}

// The settings form, to add a mailbox (`mailbox` null) or change one. `body()` is what to send:
// every field to add; only what changed to change (a Microsoft 365 mailbox never sends a server).
function settingsForm(prefix, mailbox, ctx, submit) {
  const m = mailbox || { auth: "password", encryption: "tls", folders: ["INBOX", "Sent"], visibility: "private", enabled: true };
  const auth = choice("auth", AUTHS, m.auth);
  const enabled = h("input", { type: "checkbox", id: `${prefix}-enabled`, name: "enabled", checked: m.enabled });
  const imap = h(
    "div",
    { class: "row" },
    field(`${prefix}-host`, "Servidor IMAP", text("host", m.auth === "password" ? m.host : "")),
    field(`${prefix}-port`, "Puerto", text("port", m.auth === "password" ? m.port : "", { type: "number", min: 1, max: 65535 }), "Vacío: 993 con TLS, si no 143"),
    field(`${prefix}-encryption`, "Cifrado", choice("encryption", ENCRYPTIONS, m.encryption)),
  );
  const microsoft = h(
    "div",
    { class: "row" },
    field(`${prefix}-tenant_id`, "Id. del directorio (tenant)", text("tenant_id", m.tenant_id)),
    field(`${prefix}-client_id`, "Id. de la aplicación (client)", text("client_id", m.client_id)),
  );
  const follow = () => {
    shown(imap, auth.value === "password");
    shown(microsoft, auth.value === "microsoft365");
  };
  auth.addEventListener("change", follow);
  follow();
  // Below level 1 the mailbox is private and nothing chooses it: that is said with the form's button.
  const save = h("button", { type: "submit", id: `${prefix}-save` }, submit);
  const visibility =
    ctx.user.level === 1
      ? field(`${prefix}-visibility`, "Visibilidad", choice("visibility", VISIBILITIES, m.visibility))
      : hintFor(save, { tag: "p", class: "hint" }, "Privado: sus registros los ven usted y el nivel 1 (solo el nivel 1 hace público un buzón).");
  const form = h(
    "form",
    { id: `${prefix}-form`, novalidate: true },
    h(
      "div",
      { class: "row" },
      field(`${prefix}-auth`, "Ingreso", auth),
      field(`${prefix}-username`, "Usuario (la dirección del buzón)", text("username", m.username)),
    ),
    imap,
    microsoft,
    h(
      "div",
      { class: "row" },
      field(`${prefix}-folders`, "Carpetas leídas (separadas por comas)", text("folders", m.folders.join(", "))),
      visibility,
      h("label", { for: enabled.id }, enabled, " habilitado"),
    ),
    save,
  );
  const body = () => {
    const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
    const all = {
      auth: value("auth"),
      username: value("username"),
      folders: value("folders")
        .split(",")
        .map((f) => f.trim())
        .filter(Boolean),
      enabled: enabled.checked,
    };
    if (form.elements.visibility) all.visibility = value("visibility");
    if (all.auth === "password") {
      all.host = value("host");
      if (value("port")) all.port = Number(value("port"));
      all.encryption = value("encryption");
    } else if (all.auth === "microsoft365") {
      all.tenant_id = value("tenant_id");
      all.client_id = value("client_id");
    }
    if (!mailbox) return all;
    return Object.fromEntries(Object.entries(all).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(mailbox[k])));
  };
  return { form, body };
}

function mayManage(mailbox, ctx) {
  return ctx.user.level === 1 || mailbox.owner === ctx.user.user_id;
}

// One mailbox: its monitor figures and, for its owner or level 1, its settings, secret, test, sync
// and removal. `redraw` draws the screen again from the API's new state.
function mailboxCard(m, ctx, redraw) {
  const path = `/mailboxes/${segment(m.mailbox_id)}`;
  const facts = h(
    "dl",
    { class: "mailbox-facts" },
    [
      ["Dueño", m.owner_name || m.owner],
      ["Servidor", server(m)],
      ["Carpetas", m.folders.join(", ")],
      ["Estado", `${m.enabled ? "Habilitado" : "Deshabilitado"} · ${secretSet(m)}`],
      ["Última sincronización", when(m.last_sync_at)],
      ["Próxima", when(m.next_sync_at)],
      ["Registros guardados", String(m.logged_count)],
      ["Último error", m.last_error || "—"],
    ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
  const heading = h("h2", {}, `Buzón ${m.username}`);
  if (!mayManage(m, ctx)) {
    return h("section", { class: "card", "data-mailbox-card": m.mailbox_id }, heading, facts, h("p", { class: "hint" }, "Solo su dueño o el nivel 1 lo cambian."));
  }
  const { form, body } = settingsForm("mailbox", m, ctx, "Guardar cambios");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const changes = body();
    if (!Object.keys(changes).length) {
      ctx.toast("No hay cambios que guardar.");
      return;
    }
    try {
      // saved only if no one else changed the mailbox's settings since the screen listed them
      await api("PATCH", path, changes, { ifMatch: m.etag });
      ctx.toast("Buzón guardado.");
      await redraw();
    } catch (error) {
      showErrors(form, error);
    }
  });

  const microsoft = m.auth === "microsoft365";
  const google = m.auth === "google";
  const kind = SECRETS[m.auth] || SECRETS.password;
  // Google's is the JSON key file as the Cloud console downloads it: picked, read here and sent
  // as it is (the API checks it and keeps only the private key, write-only).
  const secret = google
    ? h("input", { id: "mailbox-secret", name: "key_file", type: "file", accept: ".json,application/json" })
    : h("input", { id: "mailbox-secret", name: kind.field, type: "password", autocomplete: "new-password" });
  const isSet = m[kind.flag];
  const label = google
    ? isSet
      ? "Reemplazar el archivo de clave (JSON) de la cuenta de servicio"
      : "Archivo de clave (JSON) de la cuenta de servicio"
    : microsoft
      ? isSet
        ? "Reemplazar el secreto de cliente"
        : "Secreto de cliente"
      : isSet
        ? "Reemplazar la contraseña"
        : "Contraseña";
  const hint = google
    ? "La cuenta de servicio necesita delegación de todo el dominio con el alcance https://mail.google.com/ (docs/mailboxes.md)."
    : microsoft
      ? "El «Valor» del secreto de la aplicación en Entra ID, no su «Id. de secreto»."
      : null;
  const secretForm = h(
    "form",
    { id: "mailbox-secret-form", class: "row", novalidate: true },
    field("mailbox-secret", `${label} (no se vuelve a mostrar)`, secret, hint),
    h("button", { type: "submit" }, google ? "Guardar la clave" : microsoft ? "Guardar el secreto" : "Guardar la contraseña"),
  );
  secretForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(secretForm);
    try {
      let sent;
      if (google) {
        const file = secret.files && secret.files[0];
        if (!file) throw { message: "Elija el archivo JSON de la clave.", fields: { key_file: "Elija el archivo JSON de la clave." } };
        try {
          sent = JSON.parse(await file.text());
        } catch {
          throw { message: "El archivo no es JSON.", fields: { key_file: "El archivo no es JSON: use el que descargó de Google Cloud." } };
        }
      } else {
        sent = { [kind.field]: secret.value };
      }
      await api("PUT", `${path}/${segment(kind.route)}`, sent);
      secret.value = "";
      ctx.toast(kind.saved);
      await redraw();
    } catch (error) {
      showErrors(secretForm, error);
    }
  });

  const answer = h("p", { class: "answer test-answer", role: "status", hidden: true });
  const test = h("button", { type: "button", id: "mailbox-test" }, "Probar la conexión");
  test.addEventListener("click", async () => {
    answer.hidden = false;
    answer.className = "answer test-answer";
    answer.textContent = "Conectando…";
    try {
      const result = await api("POST", `${path}/test`);
      const folders = Object.entries(result.folders || {}).map(([f, n]) => `${f}: ${n} mensajes`);
      answer.textContent = `${result.ok ? "Conectado" : "Falló"}: ${result.answer}${folders.length ? `\n${folders.join("\n")}` : ""}`;
      answer.className = `answer test-answer ${result.ok ? "ok" : "form-error"}`;
    } catch (error) {
      answer.textContent = error.message;
      answer.className = "answer test-answer form-error";
    }
  });
  const sync = h("button", { type: "button", class: "secondary", id: "mailbox-sync" }, "Sincronizar ahora");
  sync.addEventListener("click", async () => {
    try {
      await api("POST", `${path}/sync`);
      ctx.toast("Sincronización pedida: el monitor mostrará su resultado.");
    } catch (error) {
      ctx.toast(error.message, "error");
    }
  });
  const remove = h("button", { type: "button", class: "danger", id: "mailbox-delete" }, "Quitar el buzón");
  remove.addEventListener("click", async () => {
    if (!window.confirm(`¿Quitar el buzón ${m.username}? Sus registros quedan en el registro de los clientes; el buzón no se toca.`)) return;
    try {
      await api("DELETE", path);
      ctx.toast("Buzón quitado.");
      ctx.navigate("mailboxes");
    } catch (error) {
      ctx.toast(error.message, "error");
    }
  });
  return h(
    "section",
    { class: "card", "data-mailbox-card": m.mailbox_id },
    heading,
    facts,
    h("h3", {}, "Configuración"),
    form,
    h("h3", {}, google ? "Clave de la cuenta de servicio" : microsoft ? "Secreto de cliente" : "Contraseña"),
    secretForm,
    h("div", { class: "row" }, test, sync, remove),
    answer,
  );
}

function addCard(ctx) {
  const { form, body } = settingsForm("new-mailbox", null, ctx, "Agregar el buzón");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const added = await api("POST", "/mailboxes", body());
      ctx.toast(`Buzón ${added.username} agregado: cargue su ${(SECRETS[added.auth] || SECRETS.password).name}.`);
      ctx.navigate("mailboxes", { mailbox: added.mailbox_id });
    } catch (error) {
      showErrors(form, error);
    }
  });
  return h(
    "section",
    { class: "card", id: "new-mailbox" },
    h("h2", {}, "Agregar un buzón"),
    h("p", { class: "hint" }, "El correo con los clientes de las carpetas elegidas queda en su registro, una sola vez; nada del buzón se modifica. Microsoft 365 no acepta contraseñas: necesita una aplicación registrada en Entra ID con IMAP.AccessAsApp. Google Workspace: una cuenta de servicio con delegación de todo el dominio."),
    form,
  );
}

async function render(main, ctx) {
  const listed = await api("GET", "/mailboxes");
  const openId = ctx.params.get("mailbox");
  const open = openId ? listed.items.find((m) => m.mailbox_id === openId) : null;
  const syncAll = h("button", { type: "button", class: "secondary", id: "mailboxes-sync-all" }, "Sincronizar todos");
  syncAll.addEventListener("click", async () => {
    try {
      const queued = await api("POST", "/mailboxes/sync");
      ctx.toast(`Sincronizaciones pedidas: ${queued.queued.length}.`);
    } catch (error) {
      ctx.toast(error.message, "error");
    }
  });
  const refresh = h("button", { type: "button", class: "secondary" }, "Actualizar");
  refresh.addEventListener("click", () => render(main, ctx));
  const list = listed.items.length
    ? h(
        "table",
        { id: "mailboxes" },
        h("thead", {}, h("tr", {}, ["Buzón", "Servidor", "Dueño", "Visibilidad", "Estado", "Última sincronización", "Registros", "Último error"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          listed.items.map((m) =>
            h(
              "tr",
              { "data-mailbox": m.mailbox_id },
              h("th", { scope: "row" }, h("a", { href: `#/mailboxes?mailbox=${encodeURIComponent(m.mailbox_id)}` }, m.username)),
              h("td", {}, server(m)),
              h("td", {}, m.owner_name || m.owner),
              h("td", {}, m.visibility === "public" ? "Público" : "Privado"),
              h("td", { class: "mailbox-state" }, `${m.enabled ? "Habilitado" : "Deshabilitado"} · ${secretSet(m)}`),
              h("td", {}, when(m.last_sync_at)),
              h("td", {}, String(m.logged_count)),
              h("td", {}, m.last_error || ""),
            ),
          ),
        ),
      )
    : h("p", { class: "hint" }, "Todavía no hay buzones.");
  fill(main,
    h("h1", {}, "Buzones del personal"),
    h("p", { class: "hint" }, ctx.user.level === 1 ? "Todos los buzones de la empresa." : "Sus buzones y los públicos de la oficina."),
    list,
    h("div", { class: "row" }, syncAll, refresh),
    openId && !open ? h("p", { class: "form-error", role: "alert" }, "Ese buzón no existe o no es visible para usted.") : null,
    open ? mailboxCard(open, ctx, () => render(main, ctx)) : null,
    addCard(ctx),
  );
}

register({ id: "mailboxes", title: "Buzones del personal", group: "Correo", levels: [1, 2, 3, 4], render });
