// Follow-ups (T7): parcels under follow-up and their subscribers; cancel a subscription; the alerts
// sent about a parcel (?parcel=<tracking id>, with its whole history, hidden statuses too) and to one address (?subscriber=<e-mail>, the seed's
// "Consulta de Alertas Enviadas"); and a follow-up created by hand (seed 000: "Se puede crear un
// seguimiento manual ... un formulario que pida Nombre, Apellido y dirección de Email"; T6.4).
import { api, clearErrors, fill, h, register, segment, showErrors, when } from "./app.js";
import { label } from "./screen-kit.js";

// Each status's name as the company set it in its catalog (T8, seed 000: after renaming
// "Recibido en Destino" "a partir de ahora veremos este texto para identificarlo"); an alert keeps
// only its status's code, which the lists of alerts sent show by that name. Loaded at each render,
// with which statuses are notified (a parcel's history says so of the others).
let statusNames = {};
let statusNotified = {};

async function loadStatusNames() {
  try {
    const catalog = await api("GET", "/status-catalog");
    statusNames = Object.fromEntries(catalog.items.map((s) => [s.code, s.display_name]));
    statusNotified = Object.fromEntries(catalog.items.map((s) => [s.code, s.notify]));
  } catch {
    statusNames = {}; // the codes, as before, rather than no list at all
    statusNotified = {};
  }
}

// What the "Avisado" column says of a novelty (seed 000: "con solo ingresar una novedad en Cristal,
// la misma se activa"): when its alert went out; that the next run of the alert monitor sends it;
// or that its status is not notified (a hidden one never is). Blank: no one followed the parcel
// then, or a later novelty was told instead (only the latest of an interval is sent).
function toldWhen(e, pending) {
  if (e.notified_at) return when(e.notified_at);
  if (pending && e.event_id && e.event_id === pending.event_id) return "pendiente: sale en la próxima ejecución";
  if (e.hidden || statusNotified[e.status] === false) return "no: estado sin aviso";
  return "";
}

function alertTable(items, withParcel) {
  const head = ["Creada", ...(withParcel ? ["Envío"] : []), "Destinatario", "Estado", "Resultado", "Error"];
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      items.map((a) =>
        h(
          "tr",
          {},
          h("td", {}, when(a.created_at)),
          withParcel ? h("td", {}, h("a", { href: `#/followups?parcel=${encodeURIComponent(a.tracking_id)}` }, a.tracking_id)) : null,
          h("td", {}, a.recipient_email),
          h("td", { "data-status": a.status_code }, statusNames[a.status_code] || a.status_code),
          h("td", {}, label(a.state)),
          h("td", {}, a.error || ""),
        ),
      ),
    ),
  );
}

// The alerts sent to one address, newest first, 50 a page with "Más".
async function alertsTo(email) {
  const box = h("section", { class: "card", id: "subscriber-alerts" }, h("h2", {}, `Alertas enviadas a ${email}`));
  const list = h("div", {});
  box.append(list);
  async function load(cursor) {
    let page;
    try {
      page = await api("GET", `/subscribers/${segment(email)}/alerts?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    } catch (error) {
      fill(list, h("p", { class: "form-error", role: "alert" }, error.status === 404 ? `No hay alertas enviadas a ${email}.` : error.message));
      return;
    }
    list.querySelector(".more-alerts")?.remove();
    if (!cursor) fill(list, page.items.length ? alertTable(page.items, true) : h("p", {}, `Todavía no se envió ninguna alerta a ${email}.`));
    else list.querySelector("tbody").append(...alertTable(page.items, true).querySelector("tbody").children);
    if (page.next_cursor) {
      const more = h("button", { type: "button", class: "secondary more-alerts" }, "Más alertas");
      more.addEventListener("click", () => load(page.next_cursor));
      list.append(more);
    }
  }
  await load();
  return box;
}

// Subscribe someone by hand (T6.4): the parcel, first and last name, e-mail and an optional phone;
// a staff subscription needs no confirmation. A refusal naming a field shows next to it.
function newFollowUp(ctx, onDone) {
  const fields = [
    ["tracking_id", "Envío (número de seguimiento)", "text", true],
    ["first_name", "Nombre", "text", true],
    ["last_name", "Apellido", "text", true],
    ["email", "E-mail", "email", true],
    ["phone", "Teléfono (opcional)", "tel", false],
  ];
  const inputs = fields.map(([name, , type, required]) =>
    h("input", { id: `followup-${name}`, name, type, required: required ? true : null, autocomplete: "off", value: name === "tracking_id" ? ctx.params.get("parcel") || "" : "" }),
  );
  const form = h(
    "form",
    { id: "followup-new", "aria-label": "Crear un seguimiento" },
    fields.map(([, text], i) => h("span", { class: "field" }, h("label", { for: inputs[i].id }, text), inputs[i])),
    h("button", { type: "submit" }, "Crear seguimiento"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = Object.fromEntries(inputs.map((input) => [input.name, input.value.trim()]));
    const body = { first_name: values.first_name, last_name: values.last_name, email: values.email };
    if (values.phone) body.phone = values.phone;
    try {
      const sub = await api("POST", `/parcels/${segment(values.tracking_id)}/subscriptions`, body);
      ctx.toast(`${sub.email} sigue el envío ${sub.tracking_id} hasta ${when(sub.expires_at)}.`);
      form.reset();
      await onDone();
    } catch (error) {
      if (error.status === 404 && !(error.fields && Object.keys(error.fields).length)) {
        showErrors(form, { fields: { tracking_id: `No hay un envío ${values.tracking_id}.` } });
      } else showErrors(form, error);
    }
  });
  return h("section", { class: "card" }, h("h2", {}, "Crear un seguimiento"), form);
}

function subscriberLookup(ctx) {
  const email = h("input", { id: "subscriber-email", name: "subscriber", type: "email", required: true, value: ctx.params.get("subscriber") || "" });
  const form = h(
    "form",
    { id: "subscriber-lookup", class: "row", "aria-label": "Alertas enviadas a una dirección" },
    h("span", { class: "field" }, h("label", { for: email.id }, "Alertas enviadas a la dirección"), email),
    h("button", { type: "submit" }, "Ver alertas"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("followups", { subscriber: email.value.trim() });
  });
  return form;
}

function cancelButton(sub, ctx, redraw) {
  const cancel = h("button", { type: "button", class: "danger" }, "Cancelar");
  cancel.setAttribute("aria-label", `Cancelar el seguimiento de ${sub.email} en ${sub.tracking_id}`);
  cancel.addEventListener("click", async () => {
    if (!window.confirm(`¿Cancelar el seguimiento de ${sub.email}?`)) return;
    cancel.disabled = true;
    try {
      await api("DELETE", `/parcels/${segment(sub.tracking_id)}/subscriptions/${segment(sub.subscription_id)}`);
      ctx.toast(`Seguimiento de ${sub.email} cancelado.`);
      await redraw();
    } catch (error) {
      cancel.disabled = false;
      ctx.toast(error.message, "error");
    }
  });
  return cancel;
}

function subscriberRow(sub, ctx, redraw) {
  return h(
    "li",
    { "data-subscription": sub.subscription_id },
    `${sub.first_name} ${sub.last_name} <${sub.email}>`,
    sub.phone ? ` · ${sub.phone}` : "",
    ` · hasta ${when(sub.expires_at)}`,
    sub.awaiting_confirmation ? " · sin confirmar" : "",
    " ",
    cancelButton(sub, ctx, redraw),
  );
}

// A parcel's whole history as the company sees it (GET /parcels/{id}): hidden statuses too, marked so
// (seed 000: "el estado Oculto indica que el cliente final no lo ve, pero internamente en la empresa
// se verá"), with their reason, observation and when an alert told them.
async function historyOf(trackingId) {
  let parcel;
  try {
    parcel = await api("GET", `/parcels/${segment(trackingId)}`);
  } catch {
    return null; // the alerts' box below says a parcel that does not exist
  }
  const head = ["Cuándo", "Estado", "Sucursal", "Motivo", "Observación", "Avisado"];
  return h(
    "section",
    { class: "card", id: "parcel-history" },
    h("h2", {}, `Recorrido de ${parcel.tracking_id}`),
    h(
      "p",
      { class: "hint" },
      // the client is a way to their page (history, register, notes), as on every other screen
      parcel.client_id ? ["Cliente ", h("a", { href: `#/clients?client=${encodeURIComponent(parcel.client_id)}` }, parcel.client_id), " · "] : null,
      [parcel.waybill_number ? `guía ${parcel.waybill_number}` : null, parcel.waybill_issued ? "guía emitida" : "guía sin emitir"].filter(Boolean).join(" · "),
    ),
    parcel.history.length
      ? h(
          "table",
          {},
          h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            parcel.history.map((e) =>
              h(
                "tr",
                { "data-status": e.status },
                h("td", {}, when(e.occurred_at)),
                h("td", {}, e.status_name, e.hidden ? h("span", { class: "hint" }, " (oculto al público)") : null),
                h("td", {}, e.branch || ""),
                h("td", {}, e.reason || ""),
                h("td", {}, e.observation || ""),
                h("td", { class: "told" }, toldWhen(e, parcel.pending_alert)),
              ),
            ),
          ),
        )
      : h("p", {}, "Todavía no hay novedades de este envío."),
  );
}

// How each subscription came to be (seed 000's ways of generating follow-ups).
const SOURCE_NAMES = {
  public: "pedido en la página de seguimiento",
  staff: "creado a mano",
  client_contact: "contacto del cliente",
  eventual_party: "destinatario o remitente eventual",
  issue_contact: "datos pedidos al emitir la guía",
};

function subscriptionState(sub) {
  if (sub.cancelled_at) return `cancelado ${when(sub.cancelled_at)}`;
  // (the server's clock says whether the link lapsed, not the browser's: its date is told as is)
  if (sub.awaiting_confirmation) return `sin confirmar: el enlace del e-mail vale hasta ${when(sub.expires_at)}`;
  if (sub.active) return `recibe avisos hasta ${when(sub.expires_at)}`;
  return `terminó ${when(sub.expires_at)}`;
}

// Everyone who asked to follow a parcel, as GET /parcels/{id}/subscriptions lists them: those still
// to confirm their address, cancelled or ended too (a customer who calls because nothing arrives),
// each with how it came (the page, by hand, a client's contact, an eventual recipient).
async function subscribersOf(trackingId, ctx, redraw) {
  let subs;
  try {
    subs = await api("GET", `/parcels/${segment(trackingId)}/subscriptions`);
  } catch {
    return null; // the alerts' box below says a parcel that does not exist
  }
  const rows = subs.items.map((sub) => {
    const live = sub.active || (sub.awaiting_confirmation && !sub.cancelled_at);
    return h(
      "tr",
      { "data-subscription": sub.subscription_id },
      h("td", {}, `${sub.first_name} ${sub.last_name}`),
      h("td", {}, sub.email, sub.phone ? ` · ${sub.phone}` : ""),
      h("td", {}, SOURCE_NAMES[sub.source] || sub.source),
      h("td", { class: "subscription-state" }, subscriptionState(sub)),
      h("td", {}, live ? cancelButton(sub, ctx, redraw) : ""),
    );
  });
  const head = ["Nombre", "E-mail", "Origen", "Estado", ""];
  return h(
    "section",
    { class: "card", id: "parcel-subscribers" },
    h("h2", {}, `Suscriptores de ${trackingId}`),
    rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
      : h("p", {}, "Nadie pidió avisos de este envío."),
  );
}

function parcelLookup(ctx) {
  const id = h("input", { id: "parcel-lookup-id", name: "parcel", required: true, value: ctx.params.get("parcel") || "", autocomplete: "off" });
  const form = h(
    "form",
    { id: "parcel-lookup", class: "row", "aria-label": "Consultar un envío" },
    h("span", { class: "field" }, h("label", { for: id.id }, "Consultar un envío (número de seguimiento)"), id),
    h("button", { type: "submit" }, "Ver el envío"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("followups", { parcel: id.value.trim() });
  });
  return form;
}

async function alertsOf(trackingId) {
  let alerts;
  try {
    alerts = await api("GET", `/parcels/${segment(trackingId)}/alerts`);
  } catch (error) {
    // A parcel's address that names no parcel (an old link, a typo): said in its place, with the
    // list of parcels still under it.
    const message = error.status === 404 ? `No hay un envío ${trackingId}.` : error.message;
    return h("section", { class: "card", id: "parcel-alerts" }, h("h2", {}, `Alertas enviadas de ${trackingId}`), h("p", { class: "form-error", role: "alert" }, message));
  }
  return h(
    "section",
    { class: "card", id: "parcel-alerts" },
    h("h2", {}, `Alertas enviadas de ${trackingId}`),
    alerts.items.length
      ? alertTable(alerts.items, false)
      : h("p", {}, "Todavía no se envió ninguna alerta de este envío."),
  );
}

async function render(main, ctx) {
  await loadStatusNames();
  let cursor = null;
  const pages = [];
  async function redraw() {
    const page = await api("GET", `/follow-ups?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    const parcel = ctx.params.get("parcel");
    const subscriber = ctx.params.get("subscriber");
    const rows = page.items.map((item) =>
      h(
        "tr",
        { "data-parcel": item.tracking_id },
        h("th", { scope: "row" }, h("a", { href: `#/followups?parcel=${encodeURIComponent(item.tracking_id)}` }, item.tracking_id)),
        h("td", {}, when(item.followed_until)),
        h("td", {}, h("ul", { class: "subscribers" }, item.subscribers.map((sub) => subscriberRow(sub, ctx, redraw)))),
      ),
    );
    const more = h("button", { type: "button", class: "secondary" }, "Más envíos");
    more.addEventListener("click", async () => {
      pages.push(cursor);
      cursor = page.next_cursor;
      await redraw();
    });
    const back = h("button", { type: "button", class: "secondary" }, "Anteriores");
    back.addEventListener("click", async () => {
      cursor = pages.pop() || null;
      await redraw();
    });
    fill(main,
      h("h1", {}, "Seguimientos"),
      h("p", { class: "hint" }, "Envíos con suscriptores a sus alertas. Elija un envío para ver las alertas enviadas."),
      parcelLookup(ctx),
      subscriberLookup(ctx),
      parcel ? await historyOf(parcel) : null,
      parcel ? await subscribersOf(parcel, ctx, redraw) : null,
      parcel ? await alertsOf(parcel) : null,
      subscriber ? await alertsTo(subscriber) : null,
      rows.length
        ? h(
            "table",
            { id: "follow-ups" },
            h("thead", {}, h("tr", {}, ["Envío", "Seguido hasta", "Suscriptores"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows),
          )
        : h("p", {}, "No hay envíos en seguimiento."),
      h("div", { class: "row" }, pages.length ? back : null, page.next_cursor ? more : null),
      newFollowUp(ctx, redraw),
    );
  }
  await redraw();
}

register({ id: "followups", title: "Seguimientos", group: "Seguimiento", levels: [1, 2, 3, 4], render });
