// Follow-ups (T7): parcels under follow-up and their subscribers; cancel a subscription; the alerts
// sent about a parcel (?parcel=<tracking id>).
import { api, fill, h, register, segment, when } from "./app.js";
import { label } from "./screen-kit.js";

function subscriberRow(sub, ctx, redraw) {
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
  return h(
    "li",
    { "data-subscription": sub.subscription_id },
    `${sub.first_name} ${sub.last_name} <${sub.email}>`,
    sub.phone ? ` · ${sub.phone}` : "",
    ` · hasta ${when(sub.expires_at)}`,
    sub.awaiting_confirmation ? " · sin confirmar" : "",
    " ",
    cancel,
  );
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
      ? h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ["Creada", "Destinatario", "Estado", "Resultado", "Error"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            alerts.items.map((a) =>
              h("tr", {}, h("td", {}, when(a.created_at)), h("td", {}, a.recipient_email), h("td", {}, a.status_code), h("td", {}, label(a.state)), h("td", {}, a.error || "")),
            ),
          ),
        )
      : h("p", {}, "Todavía no se envió ninguna alerta de este envío."),
  );
}

async function render(main, ctx) {
  let cursor = null;
  const pages = [];
  async function redraw() {
    const page = await api("GET", `/follow-ups?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    const parcel = ctx.params.get("parcel");
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
      parcel ? await alertsOf(parcel) : null,
      rows.length
        ? h(
            "table",
            { id: "follow-ups" },
            h("thead", {}, h("tr", {}, ["Envío", "Seguido hasta", "Suscriptores"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows),
          )
        : h("p", {}, "No hay envíos en seguimiento."),
      h("div", { class: "row" }, pages.length ? back : null, page.next_cursor ? more : null),
    );
  }
  await redraw();
}

register({ id: "followups", title: "Seguimientos", group: "Seguimiento", levels: [1, 2, 3, 4], render });
