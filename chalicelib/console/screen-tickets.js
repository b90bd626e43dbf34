// Tickets clients opened by SMS (I2): newest first, filtered by client and by "since" (a day of the
// company's), paged by cursor; one opened shows what the client wrote, its operator and category,
// and links the received SMS in the client's register. Level 4 is not offered it: the API shows that
// level no ticket (a ticket is the company's system's, not a user's).
import { api, clearErrors, extend, fill, h, register, segment, showErrors } from "./app.js";
import { companyFormat, empty, field, input, query, reveal, section, table, when } from "./screen-kit.js";

const FILTERS = ["client_id", "since"];

function ticketDetail(ticket) {
  const record = ticket.communication_id
    ? h(
        "a",
        {
          href: `#/clients?client=${encodeURIComponent(ticket.client_id)}&record=${encodeURIComponent(ticket.communication_id)}`,
        },
        "Ver el SMS en el registro del cliente",
      )
    : null;
  return h(
    "article",
    { class: "b-detail", id: "ticket-detail", "data-id": ticket.ticket_id },
    h("h3", {}, `Ticket ${ticket.ticket_id}`),
    h(
      "dl",
      {},
      [
        ["Abierto", when(ticket.created_at)],
        ["Cliente", ticket.client_id],
        ["Operador", ticket.operator],
        ["Categoría", ticket.category],
        ["Origen", ticket.source === "sms" ? "SMS" : ticket.source],
      ]
        .filter(([, v]) => v)
        .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    ),
    h("pre", { class: "b-text ticket-text" }, ticket.text),
    record,
  );
}

async function render(main, ctx) {
  await companyFormat();
  const form = h(
    "form",
    { class: "b-form b-filters", id: "tickets-filters", "aria-label": "Filtrar tickets" },
    field("Cliente", input("client_id", { placeholder: "Código de cliente" })),
    field("Desde el día", input("since", { type: "date" })),
    h("button", { type: "submit" }, "Filtrar"),
  );
  for (const name of FILTERS) if (ctx.params.get(name)) form.elements[name].value = ctx.params.get(name);
  const results = h("div", { id: "tickets-list" });
  const detail = h("div", { class: "b-detail-box" });

  const criteria = () => {
    const picked = {};
    for (const name of FILTERS) if (form.elements[name].value.trim()) picked[name] = form.elements[name].value.trim();
    return picked;
  };

  async function load(cursor) {
    clearErrors(form);
    let page;
    try {
      page = await api("GET", `/tickets${query({ ...criteria(), limit: 50, cursor })}`);
    } catch (error) {
      showErrors(form, error);
      return;
    }
    if (!cursor) fill(results);
    results.querySelector(".b-more")?.remove();
    if (!page.items.length && !cursor && !page.next_cursor) {
      extend(results, empty("Ningún ticket con estos filtros."));
      return;
    }
    if (!page.items.length) {
      // one client's tickets: a page reads a bounded part of the company's
      extend(results, empty(page.next_cursor ? "Ninguno en esta parte de los tickets; «Más» sigue buscando en los anteriores." : "No hay más tickets con estos filtros."));
      if (page.next_cursor)
        extend(results, h("button", { type: "button", class: "b-more", onclick: () => load(page.next_cursor) }, "Más"));
      return;
    }
    extend(results,
      table(
        [
          ["Abierto", (t) => when(t.created_at)],
          ["Ticket", (t) => t.ticket_id],
          ["Cliente", (t) => t.client_id],
          ["Operador", (t) => t.operator],
          ["Categoría", (t) => t.category],
          ["Texto", (t) => t.text],
          ["", (t) => h("button", { type: "button", class: "b-view", "aria-label": `Ver el ticket ${t.ticket_id}`, onclick: () => view(t.ticket_id) }, "Ver")],
        ],
        page.items,
        { class: "b-table b-tickets" },
      ),
    );
    if (page.next_cursor)
      extend(results, h("button", { type: "button", class: "b-more", onclick: () => load(page.next_cursor) }, "Más"));
  }

  async function view(ticketId) {
    try {
      const ticket = await api("GET", `/tickets/${segment(ticketId)}`);
      fill(detail, ticketDetail(ticket));
      reveal(detail);
    } catch (error) {
      fill(detail, h("p", { class: "form-error", role: "alert" }, error.message));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    // the filter in the address, so a reload or a shared link shows the same list
    const hash = `#/tickets${query(criteria())}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    fill(detail);
    load();
  });

  fill(main,
    h("h1", {}, "Tickets por SMS"),
    h(
      "p",
      { class: "hint" },
      "Los tickets que abren los clientes al escribir una palabra clave por SMS (se configuran en «Ajustes de SMS»). Los más nuevos primero.",
    ),
    section("Filtros", form),
    section("Tickets", results, detail),
  );
  await load();
  if (ctx.params.get("ticket")) await view(ctx.params.get("ticket"));
}

register({ id: "tickets", title: "Tickets por SMS", group: "Trabajo", levels: [1, 2, 3], render });
