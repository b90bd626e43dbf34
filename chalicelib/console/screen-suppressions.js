// The suppression list (Q5; docs/deliverability.md): the addresses (e-mails, phone numbers) no
// message goes to and why: a hard bounce, a complaint, an unsubscribe or an SMS STOP, or added by
// hand. Add one (a client asked by phone), lift one after a confirmation. Paged as the API pages
// it (50 at a time, "Más" for the next); the search box finds one address (the API's `q`: an e-mail
// in any case, a phone number however it is written), and emptying it shows the whole list again.
import { api, clearErrors, extend, fill, h, register, segment, showErrors, when } from "./app.js";

const REASONS = {
  manual: "A mano",
  bounce: "Rebote",
  complaint: "Queja",
  unsubscribe: "Baja",
  stop: "STOP (SMS)",
};
const PAGE = 50;

// The API keeps who put an address on the list by hand as "added by <user>: <note>" (its callers
// are programs); a person reads it in Spanish, the user by name (`created_by_name`; the id for one
// the staff directory has no name for). Any other detail (a bounce's diagnostic from the receiving
// server, an SMS's words) is shown as it comes.
function detailText(entry) {
  const byHand = /^added by (\S+?)(?:: ([\s\S]*))?$/.exec(entry.detail || "");
  if (!byHand) return entry.detail || "";
  return `Agregada por ${entry.created_by_name || byHand[1]}${byHand[2] ? `: ${byHand[2]}` : ""}`;
}

function addForm(ctx, added) {
  const address = h("input", { id: "suppression-address", name: "address", autocomplete: "off" });
  const reason = h(
    "select",
    { id: "suppression-reason", name: "reason" },
    ["manual", "bounce", "complaint", "unsubscribe"].map((code) => h("option", { value: code }, REASONS[code])),
  );
  const note = h("input", { id: "suppression-note", name: "note", maxlength: 500, autocomplete: "off", size: 40 });
  const form = h(
    "form",
    { id: "suppression-form", class: "row", novalidate: true },
    h("span", { class: "field" }, h("label", { for: address.id }, "E-mail o teléfono"), address),
    h("span", { class: "field" }, h("label", { for: reason.id }, "Motivo"), reason),
    h("span", { class: "field" }, h("label", { for: note.id }, "Nota (opcional)"), note),
    h("button", { type: "submit" }, "Agregar a la lista"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { address: address.value.trim(), reason: reason.value };
    if (note.value.trim()) body.note = note.value.trim();
    try {
      const entry = await api("POST", "/suppressions", body);
      ctx.toast(entry.created ? `${entry.address} agregada: no se le envía más.` : `${entry.address} ya estaba en la lista.`);
      address.value = "";
      note.value = "";
      await added();
    } catch (error) {
      showErrors(form, error);
    }
  });
  return form;
}

async function render(main, ctx) {
  const rows = h("tbody", {});
  const list = h(
    "table",
    { id: "suppressions" },
    h("thead", {}, h("tr", {}, ["Dirección", "Motivo", "Detalle", "Mensaje", "Desde", "Acciones"].map((t) => h("th", { scope: "col" }, t === "Acciones" ? h("span", { class: "visually-hidden" }, t) : t)))),
    rows,
  );
  const more = h("button", { type: "button", class: "secondary", id: "suppressions-more", hidden: true }, "Más");
  const none = h("p", { class: "hint", hidden: true }, "Nadie en la lista: se envía a todas las direcciones.");
  const notFound = h("p", { class: "hint", id: "suppression-not-found", hidden: true });
  let cursor = null;

  function row(entry) {
    const lift = h("button", { type: "button", class: "danger", "aria-label": `Quitar ${entry.address} de la lista` }, "Quitar");
    const tr = h(
      "tr",
      { "data-address": entry.address },
      h("th", { scope: "row" }, entry.address),
      h("td", {}, REASONS[entry.reason] || entry.reason),
      h("td", { class: "suppression-detail" }, detailText(entry)),
      h("td", {}, entry.communication_id || ""),
      h("td", {}, when(entry.created_at)),
      h("td", {}, lift),
    );
    lift.addEventListener("click", async () => {
      if (!window.confirm(`¿Quitar ${entry.address} de la lista? Se le volverá a enviar.`)) return;
      try {
        await api("DELETE", `/suppressions/${segment(entry.address)}`);
        tr.remove();
        ctx.toast(`${entry.address} ya no está en la lista.`);
      } catch (error) {
        ctx.toast(error.message, "error");
      }
    });
    return tr;
  }

  async function load(next) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (next) query.set("cursor", next);
    const page = await api("GET", `/suppressions?${query}`);
    if (!next) fill(rows);
    extend(rows, ...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    none.hidden = rows.children.length > 0;
    notFound.hidden = true;
  }

  // One address's entry (or none), in place of the list; an empty box brings the list back.
  const wanted = h("input", { id: "suppression-search", name: "q", type: "search", autocomplete: "off", size: 30, placeholder: "ana@example.com o +5491159876543" });
  const search = h(
    "form",
    { id: "suppression-search-form", class: "row", role: "search", novalidate: true },
    h("span", { class: "field" }, h("label", { for: wanted.id }, "Buscar una dirección"), wanted),
    h("button", { type: "submit", class: "secondary" }, "Buscar"),
  );
  search.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(search);
    const text = wanted.value.trim();
    try {
      if (!text) return await load(null);
      const found = await api("GET", `/suppressions?${new URLSearchParams({ q: text })}`);
      fill(rows, ...found.items.map(row));
      cursor = null;
      more.hidden = true;
      none.hidden = true;
      notFound.textContent = `${text} no está en la lista: se le envía.`;
      notFound.hidden = found.items.length > 0;
    } catch (error) {
      showErrors(search, error);
    }
  });
  more.addEventListener("click", async () => {
    try {
      await load(cursor);
    } catch (error) {
      ctx.toast(error.message, "error");
    }
  });
  await load(null);
  fill(main,
    h("h1", {}, "Direcciones suprimidas"),
    h("p", { class: "hint" }, "Ningún mensaje va a estas direcciones. Los rebotes definitivos, las quejas y las bajas las agregan solas."),
    h("section", { class: "card" }, h("h2", {}, "Agregar una dirección"), addForm(ctx, () => load(null))),
    search,
    list,
    none,
    notFound,
    more,
  );
}

register({ id: "suppressions", title: "Direcciones suprimidas", group: "Correo", levels: [1], render });
