// History per channel (H1): every filter the API has (from, to, status, kind, client, q), my saved
// filters (the API's /history/filters, private to the user, each history its own), a message as sent (its HTML in a
// sandboxed frame), resend one or many, and the Excel file of exactly the filtered rows. The list's
// channel and filters and the message open are in the address (#/history?channel=email&q=…&message=…),
// so a reload, the browser's back or a shared link shows them again; the messages ticked for
// "Reenviar los elegidos" are kept in the tab for the same user and list (app.js's keepPicks()).
import { api, extend, fill, h, keepPicks, keptPicks, register, segment, toast } from "./app.js";
import {
  ALL_LEVELS,
  attachmentList,
  attempt,
  autoSubmittedNote,
  companyFormat,
  dateField,
  downloadExcel,
  empty,
  field,
  flaggedNote,
  formValues,
  input,
  label,
  mailMark,
  messageFrame,
  messageName,
  messageTypeName,
  query,
  reveal,
  sayDays,
  section,
  select,
  showError,
  table,
  when,
} from "./screen-kit.js";

const FILTERS = ["from", "to", "status", "kind", "client", "q"];
const CHANNELS = [
  ["email", "E-mail"],
  ["sms", "SMS"],
  ["push", "Push"],
];

// A message's state as a person reads it: its group (Enviado, No enviado, Rebotado, Recibido) and,
// in parentheses, the state within it when that says more ("Enviado (Entregado)", "No enviado
// (Falló)"); a state that is its group's own word is said once ("Enviado", not "Enviado (Enviado)").
function stateText(message) {
  const [group, state] = [label(message.status_group), label(message.state)];
  return state && state.toLowerCase() !== group.toLowerCase() ? `${group} (${state})` : group;
}

export function messageDetail(message) {
  const headers = Object.entries(message.headers || {});
  return h(
    "article",
    { class: "b-detail", "data-id": message.communication_id },
    h("h3", {}, messageName(message)),
    h(
      "dl",
      {},
      [
        ["De", [message.from_name, message.from_address].filter(Boolean).join(" ")],
        ["Para", [message.to_name, message.to_address].filter(Boolean).join(" ")],
        ["Estado", stateText(message)],
        ["Creado", when(message.created_at)],
        ["Enviado", when(message.sent_at)],
        ["Entregado", when(message.delivered_at)],
        ["Tipo", `${label(message.kind)}${message.message_type ? ` · ${messageTypeName(message.message_type)}` : ""}`],
        ["Creado por", message.created_by_name || message.created_by], // by name, not the user's id
        ["Error", message.error],
        ["Marcado", flaggedNote(message)],
        ["Automático", autoSubmittedNote(message)],
        ["Reenvío de", message.resend_of],
        ["Reenviado como", (message.resent_as || []).join(", ")],
      ]
        .filter(([, v]) => v)
        .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    ),
    messageFrame(message.html),
    message.text ? h("pre", { class: "b-text" }, message.text) : null,
    attachmentList(message.attachments),
    headers.length
      ? h("details", {}, h("summary", {}, "Encabezados"), h("pre", { class: "b-text" }, headers.map(([k, v]) => `${k}: ${v}`).join("\n")))
      : null,
  );
}

async function render(main, ctx) {
  await companyFormat();
  const params = ctx.params;
  const channel = select("channel", CHANNELS, params.get("channel") || "email");
  const form = h(
    "form",
    {
      class: "b-form b-filters",
      id: "b-history-filters",
      onsubmit: (e) => {
        e.preventDefault();
        search();
      },
    },
    field("Canal", channel),
    dateField("Desde", "from"),
    dateField("Hasta", "to"),
    field(
      "Estado",
      select("status", [
        ["", "(todos)"],
        ["sent", "Enviados"],
        ["not_sent", "No enviados"],
        ["bounced", "Rebotados"],
        ["received", "Recibidos"],
      ]),
    ),
    field(
      "Tipo",
      select("kind", [
        ["", "(todos)"],
        ["automatic", "Automáticos"],
        ["manual", "Manuales"],
      ]),
    ),
    field("Cliente", input("client")),
    field("Buscar", input("q", { type: "search" })),
    h("button", { type: "submit", id: "b-history-search" }, "Filtrar"),
  );
  for (const k of FILTERS) if (params.get(k)) form.elements[k].value = params.get(k);
  sayDays(form);

  const criteria = () => {
    const values = formValues(form);
    const picked = {};
    for (const k of FILTERS) if (values[k]) picked[k] = values[k];
    return picked;
  };

  const bulkPassword = input("bulk_password", {
    type: "password",
    autocomplete: "off",
    "aria-label": "Contraseña de envíos masivos (SMS a más de un cliente)",
    placeholder: "Contraseña de envíos masivos",
  });
  // Shown on the SMS list only: resending SMS to more than one client asks for it.
  const drawPassword = () => {
    bulkPassword.hidden = applied.channel !== "sms";
  };
  const results = h("div", { class: "b-results" });
  const detail = h("div", { class: "b-detail-box" });
  const picked = h("p", { class: "b-muted", id: "b-picked", "aria-live": "polite" });
  const selected = new Set();
  let cursor = null;
  // The list shown: its channel and filters as last applied ("Filtrar"), not as being typed.
  let applied = { channel: channel.value, ...criteria() };
  let opened = params.get("message") || null; // the message "Ver" opened
  const listAddress = () => `#/history${query(applied)}`;
  const filters = () => Object.fromEntries(Object.entries(applied).filter(([k]) => k !== "channel"));

  // The list and the open message in the address (replaced, not pushed: "back" leaves the screen,
  // and coming back to it opens them again). Not once the screen was left for another.
  function remember() {
    const hash = `#/history${query({ ...applied, message: opened })}`;
    if (/^#\/history(\?|$)/.test(location.hash) && location.hash !== hash) history.replaceState(null, "", hash);
  }

  function pick(id, on) {
    if (on) selected.add(id);
    else selected.delete(id);
    keepPicks(listAddress(), [...selected]);
    drawPicked();
  }

  function drawPicked() {
    const n = selected.size;
    picked.textContent = n ? `${n} ${n === 1 ? "mensaje elegido" : "mensajes elegidos"}` : "";
  }

  // first: the screen being drawn, whose ticks (kept for this user and list) come back; any other
  // search starts with nothing ticked, as it always did.
  async function search(more = false, first = false) {
    if (!more) {
      if (!first) keepPicks(listAddress(), []);
      cursor = null;
      const before = applied.channel;
      applied = { channel: channel.value, ...criteria() };
      if (applied.channel !== before) loadSaved(); // "mis filtros" are each history's own
      selected.clear();
      if (first) for (const id of keptPicks(listAddress())) selected.add(id);
      else keepPicks(listAddress(), []);
      drawPicked();
      drawPassword();
      fill(results);
      remember(); // a reload or a shared link shows the same list
    }
    const page = await attempt(
      () => api("GET", `/history/${segment(applied.channel)}${query({ ...filters(), limit: 50, cursor })}`),
      form, // a refused filter (a "to" before the "from") is said at its field
    );
    if (!page) return;
    results.querySelector(".b-more")?.remove();
    if (!page.items.length && !more && !page.next_cursor) {
      extend(results, empty("Ningún mensaje con estos filtros."));
      return;
    }
    cursor = page.next_cursor;
    if (!page.items.length) {
      // a page reads a bounded part of the history (a year's search costs a page, not the year)
      extend(results, empty("Ninguno en esta parte del historial; «Más» sigue buscando en los anteriores."));
      if (cursor) extend(results, h("button", { type: "button", class: "b-more", onclick: () => search(true) }, "Más"));
      return;
    }
    extend(results,
      table(
        [
          [
            "",
            (m) =>
              h("input", {
                type: "checkbox",
                "aria-label": `Elegir «${messageName(m)}» a ${m.to_address}`,
                checked: selected.has(m.communication_id),
                onchange: (e) => pick(m.communication_id, e.target.checked),
              }),
          ],
          ["Creado", (m) => when(m.created_at)],
          // one received: who sent it (it was sent to the company's own number or address)
          ["Para", (m) => (m.direction === "in" && m.from_address ? `De ${m.from_address}` : m.to_address)],
          ["Asunto", (m) => (m.auto_submitted ? [mailMark(m), " ", messageName(m)] : messageName(m))],
          ["Estado", (m) => label(m.status_group)],
          ["Tipo", (m) => label(m.kind)],
          // seed 002's "Interna cliente": the client opens its page (its card and register) from here
          ["Cliente", (m) => (m.client_id ? h("a", { href: `#/clients?${new URLSearchParams({ client: m.client_id })}`, class: "b-client-link" }, m.client_id) : "")],
          ["", (m) => h("button", { type: "button", class: "b-view", "aria-label": `Ver «${messageName(m)}» a ${m.to_address}`, onclick: () => view(m.communication_id) }, "Ver")],
        ],
        page.items,
        { class: "b-table b-history" },
      ),
    );
    cursor = page.next_cursor;
    if (cursor) extend(results, h("button", { type: "button", class: "b-more", onclick: () => search(true) }, "Más"));
  }

  async function view(id) {
    let message;
    try {
      message = await api("GET", `/history/${segment(applied.channel)}/${segment(id)}`);
    } catch (err) {
      showError(err);
      // Refused (not in this user's history, or no longer there): the address is the list again. A
      // session that ended keeps it, to open the message again once signed in.
      if (!err.credentialsRefused && opened === id) {
        opened = null;
        remember();
      }
      return;
    }
    opened = message.communication_id;
    remember();
    fill(detail, messageDetail(message));
    reveal(detail);
  }

  async function resend() {
    if (!selected.size) {
      toast("Elija los mensajes a reenviar.", "error");
      return;
    }
    const body = { ids: [...selected] };
    // SMS to more than one client at once need the company's bulk-send password (C6).
    if (applied.channel === "sms" && bulkPassword.value) body.bulk_password = bulkPassword.value;
    const answer = await attempt(() => api("POST", "/history/resend", body));
    if (answer) {
      bulkPassword.value = "";
      selected.clear();
      keepPicks(listAddress(), []); // done: a reload does not tick them again
      toast(`Reenviados: ${answer.items.length}`);
      search();
    }
  }

  const saved = h("ul", { class: "b-saved b-plain", id: "b-saved-filters" });
  // "Mis filtros" of the history shown: those saved from this channel and those saved without one
  // (before filters had a channel); an answer for a channel left since is dropped.
  async function loadSaved() {
    const shown = applied.channel;
    const answer = await attempt(() => api("GET", `/history/filters${query({ channel: shown })}`));
    if (!answer || shown !== applied.channel) return;
    fill(saved,
      ...answer.items.map((f) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "b-apply",
              onclick: () => {
                for (const k of FILTERS) form.elements[k].value = f.criteria[k] || "";
                sayDays(form);
                search();
              },
            },
            f.name,
          ),
          " ",
          h(
            "button",
            {
              type: "button",
              class: "b-delete",
              "aria-label": `Borrar el filtro ${f.name}`,
              onclick: async () => {
                // A saved filter is gone for good once deleted: asked first, as every removal is.
                if (!window.confirm(`¿Borrar el filtro «${f.name}»? No se puede deshacer.`)) return;
                if ((await attempt(() => api("DELETE", `/history/filters/${segment(f.filter_id)}`))) !== undefined) loadSaved();
              },
            },
            "×",
          ),
        ),
      ),
    );
    if (!answer.items.length) extend(saved, h("li", {}, "Todavía no hay filtros guardados."));
  }
  const filterName = input("filter_name", { placeholder: "Nombre del filtro", "aria-label": "Nombre del filtro", maxlength: "100" });
  const saveForm = h(
    "form",
    {
      class: "b-inline",
      id: "b-save-filter",
      onsubmit: async (e) => {
        e.preventDefault();
        const name = filterName.value.trim();
        if (!name) {
          toast("Escriba un nombre para el filtro.", "error");
          return;
        }
        if (await attempt(() => api("POST", "/history/filters", { name, criteria: criteria(), channel: applied.channel }))) {
          filterName.value = "";
          toast(`Filtro guardado: ${name}`);
          loadSaved();
        }
      },
    },
    filterName,
    h("button", { type: "submit" }, "Guardar filtro"),
  );

  // «Descargar Excel»: the file at once when it fits in one request (10,000 rows); past that the API
  // answers ExportTooLarge and the export is built in the background: its rows written so far shown
  // while it runs, then a button that asks for a fresh link (each lasts 5 minutes) and saves the file.
  const exporting = h("div", { id: "b-history-exporting", role: "status", "aria-live": "polite" });
  const exportExcel = () => {
    const channel = applied.channel;
    return downloadExcel({
      file: `/history/${segment(channel)}/export${query(filters())}`,
      name: `historial-${channel}.xlsx`,
      exports: `/history/${segment(channel)}/exports`,
      filters: filters(),
      box: exporting,
      rows: ["mensajes", "los", "escritos"],
      ids: "b-history",
    });
  };

  fill(main,
    h("h1", {}, "Historial"),
    section("Filtros", form, h("h3", {}, "Mis filtros"), saved, saveForm),
    section(
      "Mensajes",
      h(
        "div",
        { class: "b-actions" },
        bulkPassword,
        h("button", { type: "button", id: "b-resend", onclick: resend }, "Reenviar los elegidos"),
        h("button", { type: "button", id: "b-history-export", onclick: exportExcel }, "Descargar Excel"),
      ),
      exporting,
      picked,
      results,
      detail,
    ),
  );
  await Promise.all([loadSaved(), search(false, true)]);
  if (opened) await view(opened); // drawn with the screen
}

register({ id: "history", title: "Historial", group: "Trabajo", levels: ALL_LEVELS, render });
