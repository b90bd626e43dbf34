// The company's SMS (C6, I1, I2) for administrators: the settings (provider, the sender ID chosen
// among those Pregón's operator assigned, region, the two-way number and its HELP answer), the gateway's, SMS Masivos' and the bulk-send passwords (write-only: the
// screen offers to set or replace them and says only whether they are set), a test SMS with the
// provider's own answer, the keyword auto-replies (balance and tickets), and for SMS Masivos the
// prepaid package's credit, expiry and SMS sent this month (marked when it runs low).
import { api, clearErrors, fill, h, hintFor, register, showErrors, when } from "./app.js";
import { companyFormat } from "./screen-kit.js";

const SETTINGS = [
  ["base_url", "URL del gateway (p. ej. https://api.sms-gate.app/3rdparty/v1; una IP de la red local no sirve)", "text"],
  ["username", "Usuario del gateway", "text"],
  ["masivos_username", "Usuario de SMS Masivos", "text"],
  ["default_region", "País de los números locales (AR, MX, ES…)", "text"],
  ["inbound_number", "Número propio que reciben los SMS de los clientes", "tel"],
];

function fieldId(prefix, name) {
  return `${prefix}-${name.replace(/\W/g, "-")}`;
}

// A labelled control; `control` is built with the id the label points at.
function labelled(prefix, name, label, control) {
  return h("span", { class: "field" }, h("label", { for: fieldId(prefix, name) }, label), control);
}

function textField(prefix, name, label, type, value, attrs = {}) {
  return labelled(
    prefix,
    name,
    label,
    h("input", { id: fieldId(prefix, name), name, type, value: value ?? "", autocomplete: "off", ...attrs }),
  );
}

function textArea(prefix, name, label, value) {
  const area = h("textarea", { id: fieldId(prefix, name), name, rows: "3", cols: "60" });
  area.value = value ?? ""; // as a value, never as markup
  return labelled(prefix, name, label, area);
}

function choice(prefix, name, label, options, value) {
  return labelled(
    prefix,
    name,
    label,
    h(
      "select",
      { id: fieldId(prefix, name), name },
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
    ),
  );
}

// The sender ID: one of those the operator assigned, or none (the carrier's default sender). One
// saved before the operator assigned them and not among them stays selectable as it is (saving the
// other settings keeps it) but is marked: SMS go out without it.
function senderChoice(settings) {
  const assigned = settings.assigned_sender_ids || [];
  const options = [["", "Ninguno (el remitente por defecto del operador telefónico)"], ...assigned.map((id) => [id, id])];
  const stale = settings.sender_id && !assigned.includes(settings.sender_id);
  if (stale) options.push([settings.sender_id, `${settings.sender_id} (no asignado: no se usa)`]);
  const hint = h(
    "p",
    { class: "hint", id: "sms-sender-hint" },
    assigned.length
      ? "Solo los remitentes que el operador de Pregón asignó a la empresa."
      : "El operador de Pregón no asignó remitentes a la empresa: los SMS salen con el remitente por defecto. Pídale uno.",
    stale ? ` «${settings.sender_id}» no está asignado: los SMS salen sin él.` : "",
  );
  const field = choice("sms", "sender_id", "Remitente (SNS)", options, settings.sender_id || "");
  field.querySelector("select").setAttribute("aria-describedby", hint.id); // a screen reader says it too
  return h("div", {}, field, hint);
}

function checkbox(prefix, name, label, checked) {
  const box = h("input", { type: "checkbox", id: fieldId(prefix, name), name, checked: Boolean(checked) });
  return h("label", { for: box.id, class: "b-check" }, box, ` ${label}`);
}

// A form that calls `action(form)` on submit, shows the API's refusal next to the field it names.
function actionForm(attrs, children, action) {
  const form = h("form", attrs, ...children);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await action(form);
    } catch (error) {
      showErrors(form, error);
    }
  });
  return form;
}

function settingsCard(settings, ctx, redraw) {
  const status = h(
    "p",
    { class: "hint", id: "sms-status" },
    `${settings.ready ? "Listo para enviar" : settings.enabled ? "Encendido, pero incompleto" : "Apagado"}` +
      (settings.provider === "sms_masivos"
        ? ` · contraseña de SMS Masivos ${settings.masivos_password_set ? "guardada" : "sin cargar"}`
        : ` · contraseña del gateway ${settings.password_set ? "guardada" : "sin cargar"}`) +
      ` · contraseña de envíos masivos ${settings.bulk_password_set ? "guardada" : "sin cargar"}` +
      (settings.updated_at ? ` · cambiado ${when(settings.updated_at)}` : ""), // never saved: no "cambiado —"
  );
  const limit = textField("sms", "rate_limit_messages", "Límite: SMS (vacío: sin límite)", "number", settings.rate_limit?.messages, { min: "1", max: "1000000" });
  const form = actionForm(
    { id: "sms-settings-form", "aria-label": "Ajustes de SMS" },
    [
      h(
        "div",
        { class: "row" },
        checkbox("sms", "enabled", "SMS encendidos", settings.enabled),
        choice("sms", "provider", "Proveedor", [["sns", "Amazon SNS"], ["http_gateway", "Gateway HTTP (teléfono Android)"], ["sms_masivos", "SMS Masivos (Argentina)"]], settings.provider),
        choice("sms", "sms_type", "Tipo", [["Transactional", "Transaccional"], ["Promotional", "Promocional"]], settings.sms_type),
        senderChoice(settings),
        SETTINGS.map(([name, label, type]) => textField("sms", name, label, type, settings[name])),
        textField("sms", "low_credit_threshold", "SMS Masivos: avisar con menos de estos SMS", "number", settings.low_credit_threshold, { min: "0", max: "1000000" }),
        limit,
        textField("sms", "rate_limit_hours", "por horas", "number", settings.rate_limit?.hours, { min: "1", max: "744" }),
      ),
      // what SNS allows beside the company's own limit: said with the limit's field
      settings.daily_allowance == null
        ? null
        : hintFor(limit.querySelector("input"), { tag: "p", class: "hint" }, `Pregón permite ${settings.daily_allowance} SMS por día por Amazon SNS; los siguientes esperan al día siguiente.`),
      textArea("sms", "help_text", "Respuesta a AYUDA / HELP (vacía: una por defecto)", settings.help_text),
      h("button", { type: "submit" }, "Guardar ajustes"),
    ],
    async (f) => {
      const body = { enabled: f.elements.enabled.checked };
      for (const name of ["provider", "sms_type", "sender_id", "help_text", ...SETTINGS.map(([n]) => n)]) body[name] = f.elements[name].value.trim();
      const threshold = f.elements.low_credit_threshold.value.trim();
      body.low_credit_threshold = threshold === "" ? null : Number(threshold);
      const limit = f.elements.rate_limit_messages.value.trim();
      const hours = f.elements.rate_limit_hours.value.trim();
      body.rate_limit = limit === "" ? null : { messages: Number(limit), hours: hours === "" ? 1 : Number(hours) };
      // saved only if no one else saved the settings since this screen loaded them
      await api("PUT", "/sms/settings", body, { ifMatch: settings.etag });
      ctx.toast("Ajustes de SMS guardados.");
      await redraw();
    },
  );
  return h("section", { class: "card", id: "sms-settings" }, h("h2", {}, "Servicio de SMS"), status, form);
}

// A write-only password: the field is emptied once saved and the value is never shown back.
function passwordCard(id, title, path, isSet, hint, ctx, redraw) {
  const form = actionForm(
    { id: `${id}-form`, class: "row", "aria-label": title },
    [
      textField(id, "password", `${isSet ? "Reemplazar" : "Cargar"} la contraseña (no se vuelve a mostrar)`, "password", "", {
        autocomplete: "new-password",
      }),
      h("button", { type: "submit" }, "Guardar contraseña"),
    ],
    async (f) => {
      await api("PUT", path, { password: f.elements.password.value });
      f.elements.password.value = "";
      ctx.toast(`${title}: guardada.`);
      await redraw();
    },
  );
  return h(
    "section",
    { class: "card", "data-secret": id },
    h("h2", {}, title),
    h("p", { class: "hint secret-status" }, isSet ? "Guardada." : "Sin cargar.", " ", hint),
    form,
  );
}

// SMS Masivos' prepaid package as its account queries answer now: the SMS left, the day it expires
// and the SMS sent this month, numbers and day in the company's locale (5.000 in es_AR); marked
// (and said) when fewer than the threshold are left or it expires within a week, as the daily
// e-mail to the administrators does.
function creditCard(status) {
  const card = h("section", { class: "card", id: "sms-credit" }, h("h2", {}, "Saldo de SMS Masivos"));
  if (!status.ok) {
    card.append(h("p", { class: "form-error", id: "sms-credit-status" }, `No se pudo leer el saldo: ${status.error}`));
    return card;
  }
  card.classList.toggle("credit-low", status.low);
  card.append(
    h(
      "p",
      { id: "sms-credit-status", class: status.low ? "credit-warning" : "hint" },
      `Quedan ${status.credit_shown} SMS · el paquete vence el ${status.expires_on_shown}` +
        ` · enviados este mes: ${status.sent_this_month_shown}`,
    ),
    status.low
      ? h(
          "p",
          { class: "credit-warning", role: "alert" },
          `Quedan menos de ${status.low_credit_threshold_shown} SMS o el paquete vence en menos de una semana: ` +
            "contrate un paquete nuevo con SMS Masivos antes de que fallen los SMS automáticos.",
        )
      : "",
    h("p", { class: "hint" }, `Consultado a SMS Masivos ${when(status.read_at)}.`),
  );
  return card;
}

function testCard() {
  const answer = h("p", { class: "answer test-answer", role: "status" });
  const form = actionForm(
    { id: "sms-test-form", "aria-label": "SMS de prueba" },
    [
      h(
        "div",
        { class: "row" },
        textField("sms-test", "to", "Enviar un SMS de prueba a", "tel", ""),
        textField("sms-test", "text", "Texto (vacío: uno de prueba)", "text", "", { maxlength: "1600" }),
        h("button", { type: "submit" }, "Probar"),
      ),
      answer,
    ],
    async (f) => {
      answer.textContent = "Enviando…";
      answer.className = "answer test-answer";
      const body = { to: f.elements.to.value.trim() };
      if (f.elements.text.value.trim()) body.text = f.elements.text.value.trim();
      try {
        const result = await api("POST", "/sms/test", body);
        answer.textContent = result.ok
          ? `Enviado a ${result.to} (id ${result.message_id}).`
          : `No se envió: ${result.error}`;
        answer.className = `answer test-answer ${result.ok ? "ok" : "form-error"}`;
      } catch (error) {
        answer.textContent = "";
        throw error;
      }
    },
  );
  return h("section", { class: "card", id: "sms-test" }, h("h2", {}, "Prueba"), form);
}

function autoRepliesCard(rules, ctx, redraw) {
  const b = rules.balance;
  const t = rules.ticket;
  const form = actionForm(
    { id: "sms-auto-replies-form", "aria-label": "Respuestas automáticas" },
    [
      h(
        "fieldset",
        {},
        h("legend", {}, "Saldo (I1)"),
        checkbox("auto", "balance.enabled", "encendida", b.enabled),
        textField("auto", "balance.keywords", "Palabras clave, separadas por comas", "text", b.keywords),
        textArea("auto", "balance.template", "Respuesta: %nombre%, %deuda%, %empresa%, %cliente%", b.template),
      ),
      h(
        "fieldset",
        {},
        h("legend", {}, "Tickets (I2)"),
        checkbox("auto", "ticket.enabled", "encendida", t.enabled),
        textField("auto", "ticket.keywords", "Palabras clave, separadas por comas", "text", t.keywords),
        h(
          "div",
          { class: "row" },
          textField("auto", "ticket.operator", "Operador asignado", "text", t.operator),
          textField("auto", "ticket.category", "Categoría", "text", t.category),
          textField("auto", "ticket.max_per_day", "Tickets por cliente por día", "number", t.max_per_day, { min: "1", max: "50" }),
        ),
        textArea("auto", "ticket.template", "Respuesta: %nombre%, %id%, %operador%, %categoria%, %empresa%, %cliente%", t.template),
        textArea("auto", "ticket.limit_template", "Pasado el máximo del día: %nombre%, %maximo%, %empresa%, %cliente%", t.limit_template),
      ),
      h("button", { type: "submit" }, "Guardar respuestas"),
    ],
    async (f) => {
      const value = (name) => f.elements[name].value.trim();
      const ticket = {
        enabled: f.elements["ticket.enabled"].checked,
        keywords: value("ticket.keywords"),
        template: value("ticket.template"),
        limit_template: value("ticket.limit_template"),
      };
      // operator and category cannot be blank: left out when empty (they keep their value)
      if (value("ticket.operator")) ticket.operator = value("ticket.operator");
      if (value("ticket.category")) ticket.category = value("ticket.category");
      if (value("ticket.max_per_day")) ticket.max_per_day = Number(value("ticket.max_per_day"));
      const balance = {
        enabled: f.elements["balance.enabled"].checked,
        keywords: value("balance.keywords"),
        template: value("balance.template"),
      };
      // saved only if no one else saved the rules since this screen loaded them
      await api("PUT", "/sms/auto-replies", { balance, ticket }, { ifMatch: rules.etag });
      ctx.toast("Respuestas automáticas guardadas.");
      await redraw();
    },
  );
  return h(
    "section",
    { class: "card", id: "sms-auto-replies" },
    h("h2", {}, "Respuestas automáticas por palabra clave"),
    h(
      "p",
      { class: "hint" },
      "Un SMS de un cliente con una de estas palabras recibe su saldo, o abre un ticket (ver «Tickets por SMS»).",
      rules.updated_at ? ` Cambiadas ${when(rules.updated_at)} por ${rules.updated_by_name || rules.updated_by || "—"}.` : "",
    ),
    form,
  );
}

async function render(main, ctx) {
  await companyFormat();
  const [settings, rules] = await Promise.all([api("GET", "/sms/settings"), api("GET", "/sms/auto-replies")]);
  // SMS Masivos' account can be read once its user and password are saved
  const masivos = settings.provider === "sms_masivos" && settings.masivos_username && settings.masivos_password_set;
  const credit = masivos ? await api("GET", "/sms/settings/provider-status") : null;
  const redraw = () => render(main, ctx);
  fill(main,
    h("h1", {}, "Ajustes de SMS"),
    settingsCard(settings, ctx, redraw),
    credit ? creditCard(credit) : null,
    passwordCard(
      "sms-gateway-password",
      "Contraseña del gateway",
      "/sms/settings/gateway-password",
      settings.password_set,
      "Solo se envía al gateway de la URL y el usuario guardados arriba: guárdelos primero.",
      ctx,
      redraw,
    ),
    passwordCard(
      "sms-masivos-password",
      "Contraseña de SMS Masivos",
      "/sms/settings/sms-masivos-password",
      settings.masivos_password_set,
      "La que le dio SMS Masivos; solo se usa con el usuario de SMS Masivos guardado arriba: guárdelo primero.",
      ctx,
      redraw,
    ),
    passwordCard(
      "sms-bulk-password",
      "Contraseña de envíos masivos",
      "/sms/bulk-password",
      settings.bulk_password_set,
      "Se pide en cada envío de SMS a más de un cliente (al menos 8 caracteres).",
      ctx,
      redraw,
    ),
    testCard(),
    autoRepliesCard(rules, ctx, redraw),
  );
}

register({ id: "sms", title: "Ajustes de SMS", group: "Configuración", levels: [1], render });
