// Webhooks (docs/webhooks.md): the addresses of the company's own system that Pregón tells what
// happened to its messages. An administrator adds one (its URL and the events it wants), sees its
// signing secret once, right after adding it or making a new one (nothing shows it again: not a
// reload, not the API), changes it, turns it off and on, removes it after a confirmation, sends a
// test event and reads the delivery log. Every other level reads an endpoint's delivery log only
// (the API's access: GET /webhooks/{id}/deliveries is any staff's, the rest the administrator's).
import { api, clearErrors, fill, h, register, segment, showErrors, when } from "./app.js";
import { section, table } from "./screen-kit.js";

export const EVENTS = [
  ["message.delivered", "E-mail entregado"],
  ["message.bounced", "E-mail rebotado"],
  ["message.complained", "Queja por spam"],
  ["message.failed", "E-mail que no se pudo enviar"],
  ["client.unsubscribed", "Baja de un cliente"],
  ["inbound.received", "Mensaje recibido de un cliente"],
  ["ticket.created", "Ticket abierto por SMS"],
];
const EVENT_NAMES = Object.fromEntries([...EVENTS, ["webhook.test", "Evento de prueba"]]);
const OUTCOMES = {
  delivered: "Entregado",
  retrying: "Falló; se reintentará",
  failed: "Falló; no se reintenta",
  refused: "Rechazado: dirección no permitida",
  "gave-up": "Abandonado tras los reintentos",
};

// The secret a create or a rotation just answered: shown by the next drawing of that endpoint and
// then forgotten (it lives in this page's memory only, so a reload never shows it).
let justMade = null;

function eventBoxes(prefix, chosen = []) {
  return h(
    "fieldset",
    { class: "events", id: `${prefix}-events` },
    h("legend", {}, "Eventos que recibe"),
    EVENTS.map(([code, name]) => {
      const box = h("input", { type: "checkbox", name: "events", value: code, id: `${prefix}-event-${code.replace(".", "-")}` });
      box.checked = chosen.includes(code);
      return h("label", { for: box.id, class: "check" }, box, ` ${name}`);
    }),
  );
}

function endpointForm(prefix, endpoint) {
  const url = h("input", {
    id: `${prefix}-url`,
    name: "url",
    type: "url",
    autocomplete: "off",
    placeholder: "https://erp.example.com/pregon",
    value: endpoint ? endpoint.url : null,
  });
  return h(
    "form",
    { id: `${prefix}-form`, novalidate: true },
    h("span", { class: "field" }, h("label", { for: url.id }, "Dirección (URL https://)"), url),
    eventBoxes(prefix, endpoint ? endpoint.events : EVENTS.map(([code]) => code)),
    h("button", { type: "submit" }, endpoint ? "Guardar los cambios" : "Agregar el webhook"),
  );
}

function formBody(form) {
  return {
    url: form.querySelector('[name="url"]').value.trim(),
    events: [...form.querySelectorAll('[name="events"]:checked')].map((box) => box.value),
  };
}

function secretBox(secret) {
  const box = h("input", { id: "webhook-secret", value: secret, readonly: true, class: "copy", "aria-label": "Clave de firma", size: 40 });
  box.addEventListener("focus", () => box.select());
  const copy = h("button", { type: "button", class: "secondary", id: "webhook-secret-copy" }, "Copiar");
  copy.addEventListener("click", async () => {
    box.select();
    try {
      await navigator.clipboard.writeText(secret);
      copy.textContent = "Copiado";
    } catch {
      copy.textContent = "Seleccionado: Ctrl+C";
    }
  });
  return h(
    "div",
    { class: "card", id: "webhook-secret-card", role: "status" },
    h("h3", {}, "Clave de firma"),
    h("p", { class: "form-error" }, "Guárdela ahora: no se volverá a mostrar. Con ella su sistema comprueba la firma (Pregon-Signature) de cada evento."),
    h("span", { class: "row" }, box, copy),
  );
}

function stateText(e) {
  if (e.enabled) return e.failing_since ? `Encendido; falla desde el ${when(e.failing_since)}` : "Encendido";
  return e.disabled_at ? `Apagado por Pregón el ${when(e.disabled_at)} tras un día de fallas` : "Apagado";
}

function deliveryLog(items) {
  if (!items.length) return h("p", { class: "hint", id: "webhook-log-empty" }, "Todavía no hubo entregas.");
  return table(
    [
      ["Hora", (d) => when(d.attempted_at)],
      ["Evento", (d) => EVENT_NAMES[d.event_type] || d.event_type],
      ["Resultado", (d) => OUTCOMES[d.outcome] || d.outcome],
      ["Código", (d) => (d.status_code == null ? "—" : String(d.status_code))],
      ["Intento", (d) => String(d.attempt)],
    ],
    items,
    { id: "webhook-log" },
  );
}

// One endpoint, for the administrator: its secret if just made, its settings, actions and log.
function adminDetail(e, log, ctx, reload) {
  const secret = justMade && justMade.endpoint_id === e.endpoint_id ? justMade.secret : null;
  justMade = null;
  const form = endpointForm("edit-webhook", e);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      // saved only if no one changed the endpoint since this screen loaded it (else a 412, explained)
      await api("PUT", `/webhooks/${segment(e.endpoint_id)}`, { ...formBody(form), enabled: e.enabled }, { ifMatch: e.etag });
      ctx.toast("Webhook guardado.");
      await reload();
    } catch (error) {
      showErrors(form, error);
    }
  });
  const button = (id, text, cls, action) => {
    const b = h("button", { type: "button", id, class: cls }, text);
    b.addEventListener("click", action);
    return b;
  };
  const answer = h("p", { id: "webhook-test-answer", class: "hint", role: "status" });
  const logBox = h("div", {}, deliveryLog(log));
  const actions = h(
    "p",
    { class: "row" },
    button("webhook-test", "Enviar un evento de prueba", "secondary", async () => {
      answer.textContent = "Enviando…";
      try {
        const got = await api("POST", `/webhooks/${segment(e.endpoint_id)}/test`);
        answer.textContent = `${OUTCOMES[got.outcome] || got.outcome}${got.status_code ? ` (código ${got.status_code})` : ""}${got.error ? `: ${got.error}` : ""}`;
        const fresh = await api("GET", `/webhooks/${segment(e.endpoint_id)}/deliveries?limit=50`);
        logBox.replaceChildren(deliveryLog(fresh.items));
      } catch (error) {
        answer.textContent = `No se envió: ${error.message}`;
      }
    }),
    button("webhook-toggle", e.enabled ? "Apagar" : "Encender", "secondary", async () => {
      try {
        await api("PUT", `/webhooks/${segment(e.endpoint_id)}`, { url: e.url, events: e.events, enabled: !e.enabled }, { ifMatch: e.etag });
        ctx.toast(e.enabled ? "Webhook apagado: no se le envía nada." : "Webhook encendido.");
        await reload();
      } catch (error) {
        ctx.toast(error.message, "error");
      }
    }),
    button("webhook-rotate", "Nueva clave de firma", "secondary", async () => {
      if (!window.confirm("¿Hacer una nueva clave de firma? Durante 24 horas cada evento lleva la firma de la nueva y la de la anterior; después, solo la de la nueva: dele la nueva a su sistema antes.")) return;
      try {
        const made = await api("POST", `/webhooks/${segment(e.endpoint_id)}/secret`);
        justMade = { endpoint_id: made.endpoint_id, secret: made.secret };
        await reload();
      } catch (error) {
        ctx.toast(error.message, "error");
      }
    }),
    button("webhook-delete", "Quitar", "danger", async () => {
      if (!window.confirm(`¿Quitar el webhook ${e.url}? No se le enviará nada más y se descartan los eventos que esperaban.`)) return;
      try {
        await api("DELETE", `/webhooks/${segment(e.endpoint_id)}`);
        ctx.toast("Webhook quitado.");
        ctx.navigate("webhooks");
      } catch (error) {
        ctx.toast(error.message, "error");
      }
    }),
  );
  return h(
    "section",
    { class: "card", id: "webhook-detail", "data-endpoint": e.endpoint_id },
    h("h2", {}, e.url),
    secret ? secretBox(secret) : null,
    h("p", { id: "webhook-state", class: e.enabled ? "ok" : "form-error" }, stateText(e)),
    h("p", { class: "hint" }, `Identificador ${e.endpoint_id} · clave de firma del ${when(e.secret_set_at)}`
      + (e.previous_secret_until && new Date(e.previous_secret_until) > new Date() ? ` · la anterior también firma hasta el ${when(e.previous_secret_until)}` : "")),
    actions,
    answer,
    h("h3", {}, "Cambiar"),
    form,
    h("h3", {}, "Registro de entregas (30 días)"),
    logBox,
  );
}

// An endpoint's URL in the list, whole on one line: on a phone the table scrolls in its box
// instead of breaking the address (the CSSOM, not a style attribute: the console's policy).
function urlLink(e) {
  const link = h("a", { href: `#/webhooks?endpoint=${encodeURIComponent(e.endpoint_id)}` }, e.url);
  link.style.whiteSpace = "nowrap";
  return link;
}

async function renderAdmin(main, ctx) {
  const open = ctx.params.get("endpoint");
  const draw = async () => {
    const [listed, shown, log] = await Promise.all([
      api("GET", "/webhooks"),
      open ? api("GET", `/webhooks/${segment(open)}`).catch((error) => error) : null,
      open ? api("GET", `/webhooks/${segment(open)}/deliveries?limit=50`).catch(() => ({ items: [] })) : null,
    ]);
    const form = endpointForm("new-webhook");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        const made = await api("POST", "/webhooks", formBody(form));
        justMade = { endpoint_id: made.endpoint_id, secret: made.secret };
        ctx.toast("Webhook agregado.");
        ctx.navigate("webhooks", { endpoint: made.endpoint_id });
      } catch (error) {
        showErrors(form, error);
      }
    });
    const list = listed.items.length
      ? table(
          [
            ["Dirección", (e) => urlLink(e)],
            ["Eventos", (e) => e.events.map((code) => EVENT_NAMES[code] || code).join(", ")],
            ["Estado", (e) => stateText(e)],
          ],
          listed.items,
          { id: "webhooks" },
        )
      : h("p", { class: "hint" }, "Todavía no hay webhooks.");
    let opened = null;
    if (shown instanceof Error) opened = h("p", { class: "form-error", role: "alert" }, shown.message);
    else if (shown) opened = adminDetail(shown, log.items, ctx, draw);
    fill(
      main,
      h("h1", {}, "Webhooks"),
      h("p", { class: "hint" }, "Pregón avisa a su sistema, en el momento, lo que pasó con sus mensajes: un evento firmado por cada rebote, entrega, baja o mensaje recibido. Hasta 5 direcciones."),
      list,
      opened,
      listed.items.length < 5 ? section("Agregar un webhook", form) : null,
    );
  };
  await draw();
}

// Other levels: an endpoint's delivery log, read only (they cannot list the endpoints).
async function renderLog(main, ctx) {
  const open = ctx.params.get("endpoint");
  const id = h("input", { id: "log-endpoint", name: "endpoint", autocomplete: "off", placeholder: "wh_...", value: open });
  const form = h(
    "form",
    { id: "log-endpoint-form", class: "row", novalidate: true },
    h("span", { class: "field" }, h("label", { for: id.id }, "Identificador del webhook"), id),
    h("button", { type: "submit" }, "Ver su registro"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (id.value.trim()) ctx.navigate("webhooks", { endpoint: id.value.trim() });
  });
  let log = null;
  if (open) {
    try {
      log = deliveryLog((await api("GET", `/webhooks/${segment(open)}/deliveries?limit=50`)).items);
    } catch (error) {
      log = h("p", { class: "form-error", role: "alert" }, error.message);
    }
  }
  fill(
    main,
    h("h1", {}, "Webhooks"),
    h("p", { class: "hint", id: "webhooks-admin-only" }, "Solo un administrador agrega, cambia o quita webhooks. Con el identificador de uno puede ver su registro de entregas."),
    form,
    log ? section("Registro de entregas (30 días)", log) : null,
  );
}

function render(main, ctx) {
  return ctx.user.level === 1 ? renderAdmin(main, ctx) : renderLog(main, ctx);
}

register({ id: "webhooks", title: "Webhooks", group: "Configuración", render });
